/**
 * A TCP request/response RTT tool for the bench, where ping cannot go: a ClusterIP answers only
 * the TCP/UDP ports its Service names (kube-proxy DNATs no ICMP). Plain JavaScript, so that it
 * starts in a pod's netns without a loader.
 *
 *   node bench/tcp-echo.mjs serve <ip> <port>
 *     echoes every byte back (Nagle off); runs until stopped.
 *   node bench/tcp-echo.mjs probe <ip> <port> <count> <intervalMs>
 *     one connection; one warm-up request, then <count> requests of 64 bytes (ping's default size), each sent when the
 *     previous reply is complete, <intervalMs> apart; prints {"times":[ms…],"error"?} as JSON.
 *     The connection is set up before the first request, so the times are request → reply only.
 */
import { createConnection, createServer } from 'node:net';

const SIZE = 64;
const REPLY_TIMEOUT_MS = 2000;
const [mode, host, portArg, countArg, intervalArg] = process.argv.slice(2);
const port = Number(portArg);

if (mode === 'serve') {
  createServer((s) => {
    s.setNoDelay(true);
    s.on('error', () => s.destroy());
    s.pipe(s);
  }).listen(port, host);
} else if (mode === 'probe') {
  probe(Number(countArg), Number(intervalArg)).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(r.error ? 1 : 0);
    },
    (e) => {
      process.stdout.write(`${JSON.stringify({ times: [], error: String(e) })}\n`);
      process.exit(1);
    },
  );
} else {
  process.stderr.write('usage: tcp-echo.mjs serve <ip> <port> | probe <ip> <port> <count> <intervalMs>\n');
  process.exit(2);
}

async function probe(count, intervalMs) {
  const sock = await new Promise((resolve, reject) => {
    const s = createConnection({ host, port, timeout: REPLY_TIMEOUT_MS }, () => resolve(s));
    s.once('error', reject);
    s.once('timeout', () => reject(new Error(`connect to ${host}:${port} timed out`)));
  });
  sock.setNoDelay(true);
  sock.setTimeout(0);
  const times = [];
  const payload = Buffer.alloc(SIZE, 0x61);
  let pending;
  let got = 0;
  sock.on('data', (d) => {
    got += d.length;
    if (got >= SIZE && pending) {
      got -= SIZE;
      const p = pending;
      pending = undefined;
      p();
    }
  });
  try {
    // i = -1: one request not counted, which warms the JIT and the path (the first takes ~10 ms)
    for (let i = -1; i < count; i++) {
      if (i > -1) await new Promise((r) => setTimeout(r, intervalMs));
      const t0 = process.hrtime.bigint();
      await new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no reply within ${REPLY_TIMEOUT_MS} ms`)),
          REPLY_TIMEOUT_MS,
        );
        pending = () => {
          clearTimeout(timer);
          resolve();
        };
        sock.write(payload);
      });
      if (i > -1) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return { times };
  } catch (e) {
    return { times, error: String(e instanceof Error ? e.message : e) };
  } finally {
    sock.destroy();
  }
}
