import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readCapped } from './body.ts';

class TooLarge extends Error {}

function streamed(
  chunks: number,
  size: number,
): { res: Response; pulled: () => number; cancelled: () => boolean } {
  let pulled = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled >= chunks) return c.close();
      pulled += 1;
      c.enqueue(new Uint8Array(size).fill(97));
    },
    cancel() {
      cancelled = true;
    },
  });
  return { res: new Response(body), pulled: () => pulled, cancelled: () => cancelled };
}

test('a reply within the cap is read whole', async () => {
  const { res } = streamed(4, 1000);
  assert.equal((await readCapped(res, 4000, () => new TooLarge())).length, 4000);
});

test('a reply past the cap is not read further: the stream is cancelled and tooLarge thrown', async () => {
  const s = streamed(1_000_000, 64 * 1024); // 64 GB if read whole
  await assert.rejects(
    readCapped(s.res, 1024 * 1024, () => new TooLarge()),
    TooLarge,
  );
  assert.ok(s.pulled() <= 18, `pulled ${s.pulled()} chunks of 64 KiB for a 1 MiB cap`);
  assert.ok(s.cancelled(), 'the stream was cancelled (the connection closes)');
});

test('a Content-Length over the cap fails before any of the body is read', async () => {
  const s = streamed(10, 10);
  const res = new Response(s.res.body, { headers: { 'content-length': String(400 * 1024 * 1024) } });
  await assert.rejects(
    readCapped(res, 1024, () => new TooLarge()),
    TooLarge,
  );
  assert.equal(s.pulled(), 0);
});
