/**
 * Bounded reads of HTTP replies: a reply past its cap is not read further (its stream is
 * cancelled, which closes the connection), so a huge or endless reply costs at most the cap in
 * memory. Every reply N-Net reads from Keystone, Neutron and etcd goes through readCapped.
 */

export const MiB = 1024 * 1024;

/** `8 MiB`, for messages. */
export function formatBytes(n: number): string {
  return n % MiB === 0 ? `${n / MiB} MiB` : `${n} bytes`;
}

/**
 * The body of `res` as UTF-8 text, or `tooLarge()` thrown once it exceeds `cap` bytes (at once
 * when Content-Length says so). A read cut by `signal` rejects with the signal's reason.
 */
export async function readCapped(
  res: Response,
  cap: number,
  tooLarge: () => Error,
  signal?: AbortSignal,
): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > cap) {
    await discard(res);
    throw tooLarge();
  }
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > cap) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    throw e;
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

/** Drops a reply's body without reading it (the connection is closed, not drained). */
export async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}
