/**
 * One HTTP exchange: the global fetch, or node:https through an Agent that carries TLS settings
 * (Node 20's fetch takes no per-request CA or client certificate, and its undici is not exported).
 * Both give a WHATWG Response and fail the same way: TypeError('fetch failed', {cause}) for
 * transport failures, the signal's reason when the signal aborts.
 */
import type { IncomingMessage } from 'node:http';
import type { Agent } from 'node:https';
import { createRequire } from 'node:module';

export interface SendInit {
  method: string;
  headers: Record<string, string>;
  body?: string | undefined;
  signal?: AbortSignal | undefined;
}

const requireNode = createRequire(import.meta.url);

/** Sends through `agent` for https:// URLs when one is given, else through the global fetch. */
export function send(url: string, init: SendInit, agent?: Agent): Promise<Response> {
  if (!agent || !url.startsWith('https:')) return fetch(url, init);
  return sendHttps(url, init, agent);
}

function sendHttps(url: string, init: SendInit, agent: Agent): Promise<Response> {
  const https = requireNode('node:https') as typeof import('node:https');
  const { Readable } = requireNode('node:stream') as typeof import('node:stream');
  const { signal } = init;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const fail = (e: unknown) =>
      reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: e }));
    const req = https.request(url, { method: init.method, headers: init.headers, agent, signal }, (res) => {
      const status = res.statusCode ?? 502;
      const empty = init.method === 'HEAD' || status === 204 || status === 304;
      if (empty) res.resume();
      const body = empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
      resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers: headersOf(res) }));
    });
    req.on('error', fail);
    req.end(init.body);
  });
}

function headersOf(res: IncomingMessage): Headers {
  const h = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) h.append(raw[i]!, raw[i + 1]!);
  return h;
}
