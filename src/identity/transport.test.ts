import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { httpFetch, transportFailure } from './transport.ts';

function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

test('transport failures are classified, and only never-sent ones are marked so', () => {
  const cases: [unknown, string, boolean][] = [
    [fetchFailed(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'refused', false],
    [fetchFailed(Object.assign(new Error('x'), { code: 'ENOTFOUND' })), 'dns', false],
    [fetchFailed(Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' })), 'timeout', false],
    [fetchFailed(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'reset', true],
    [fetchFailed(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })), 'reset', true],
    [
      fetchFailed(new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' })])),
      'refused',
      false,
    ],
    [new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'timeout', true],
    [new DOMException('This operation was aborted', 'AbortError'), 'aborted', true],
    [fetchFailed(new Error('weird')), 'other', true],
    [fetchFailed(Object.assign(new Error('x'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })), 'tls', false],
    [fetchFailed(Object.assign(new Error('x'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' })), 'tls', false],
  ];
  for (const [err, kind, sent] of cases) {
    const f = transportFailure(err);
    assert.equal(f?.kind, kind, String(err));
    assert.equal(f?.mayHaveBeenSent, sent, String(err));
  }
  assert.equal(transportFailure(new RangeError('bug')), undefined);
  assert.equal(transportFailure('x'), undefined);
});

test('a closed local port gives a refused failure that was never sent', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  const err = await httpFetch(`http://127.0.0.1:${port}/`, { timeoutMs: 2000 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.deepEqual(transportFailure(err), { kind: 'refused', mayHaveBeenSent: false, code: 'ECONNREFUSED' });
});

test('a server that never answers times out after timeoutMs', async () => {
  const sockets: import('node:net').Socket[] = [];
  const srv = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  const t0 = Date.now();
  const err = await httpFetch(`http://127.0.0.1:${port}/`, { timeoutMs: 300 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  for (const s of sockets) s.destroy();
  await new Promise((r) => srv.close(r));
  assert.equal(transportFailure(err)?.kind, 'timeout');
  assert.ok(Date.now() - t0 < 3000);
});
