/**
 * The agent's CNI server: a unix socket only root can use (its directory 0700 and root's, the
 * socket 0600), one request line and one answer line per connection (src/cniproto). A request
 * that is not one (not JSON, too large, too slow to arrive) gets a CNI error document saying so,
 * and the connection is closed; nothing a client sends can stop the server. A client that goes
 * away mid-request does not stop the request either: it runs to its end (a finished ADD is
 * released by the DEL the runtime sends next, which waits for it: src/network/locks.ts).
 *
 *   const server = await serveCni({ path: '/run/nnet/cni.sock', handle, log });
 *   await server.close(); // stops accepting, waits for the requests running
 */
import { chmodSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import {
  type AgentAnswer,
  CODES,
  encodeLine,
  errorDocument,
  LATEST_VERSION,
  MAX_REQUEST_BYTES,
  PROTOCOL_VERSION,
  parseRequest,
} from '../cniproto/index.ts';
import { InputError } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';

export interface CniCall {
  env: Record<string, string>;
  stdin: Uint8Array;
}

export interface CniServer {
  path: string;
  /** Requests running now. */
  inFlight(): number;
  /** Stops accepting; waits (at most `graceMs`) for the running requests, then closes. */
  close(graceMs?: number): Promise<void>;
}

export interface CniServerOptions {
  path: string;
  handle(call: CniCall): Promise<AgentAnswer>;
  log: Logger;
  /** A connection must deliver its request within this time (default 30 s). */
  requestTimeoutMs?: number;
}

export async function serveCni(o: CniServerOptions): Promise<CniServer> {
  prepareDirectory(dirname(o.path));
  await removeStaleSocket(o.path);
  const running = new Set<Promise<void>>();
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    const p = serveConnection(sock, o).finally(() => running.delete(p));
    running.add(p);
  });
  await listen(server, o.path);
  o.log.info('serving CNI', { socket: o.path });
  return {
    path: o.path,
    inFlight: () => running.size,
    async close(graceMs = 30_000) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...running]),
        new Promise((r) => {
          timer = setTimeout(r, graceMs);
        }),
      ]);
      clearTimeout(timer);
      for (const s of sockets) s.destroy();
    },
  };
}

/** The socket's directory: made 0700, and refused when it is not root's (or this user's). */
function prepareDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  const uid = process.getuid?.() ?? 0;
  if (!st.isDirectory())
    throw new InputError('invalid-config', `the agent's socket directory ${dir} is not a directory`);
  if (st.uid !== uid)
    throw new InputError(
      'invalid-config',
      `the agent's socket directory ${dir} belongs to uid ${st.uid}, not to uid ${uid}: refusing to serve CNI there`,
    );
  if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
}

/** A socket file left by an agent that died is removed; one another agent listens on is refused. */
async function removeStaleSocket(path: string): Promise<void> {
  let exists = true;
  try {
    statSync(path);
  } catch {
    exists = false;
  }
  if (!exists) return;
  const alive = await new Promise<boolean>((resolve) => {
    const c = createConnection({ path });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new InputError('invalid-config', `another nnet-agent already serves CNI on ${path}`);
  unlinkSync(path);
}

async function listen(server: Server, path: string): Promise<void> {
  // 0600 from the start: no moment where another user could connect.
  const mask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(mask);
  }
  chmodSync(path, 0o600);
}

function answerLine(a: AgentAnswer): string {
  return encodeLine(a);
}

function refusal(code: number, msg: string): AgentAnswer {
  return { v: PROTOCOL_VERSION, code: 1, stdout: errorDocument(LATEST_VERSION, code, msg) };
}

/** Reads the request line (bounded in size and time), runs it, writes the answer. */
async function serveConnection(sock: Socket, o: CniServerOptions): Promise<void> {
  let gone = false;
  sock.on('error', () => {
    gone = true;
  });
  sock.on('end', () => {
    gone = true;
  });
  const line = await readLine(sock, o.requestTimeoutMs ?? 30_000);
  let answer: AgentAnswer;
  if (typeof line !== 'string') answer = refusal(line.code, line.msg);
  else {
    const req = parseRequest(line);
    if ('problem' in req)
      answer = refusal(
        CODES.decode,
        `nnet-agent: the request on its socket is not an nnet request: ${req.problem}`,
      );
    else {
      const command = req.env.CNI_COMMAND ?? '';
      answer = await o
        .handle({ env: req.env, stdin: Buffer.from(req.stdin, 'base64') })
        .catch((e: unknown) =>
          refusal(100, `nnet-agent: internal error: ${e instanceof Error ? e.message : String(e)}`),
        );
      if (gone)
        o.log.warn('the plugin went away before the answer; the command ran to its end', {
          command,
          containerId: req.env.CNI_CONTAINERID,
          code: answer.code,
        });
    }
  }
  if (gone || sock.destroyed) return;
  await new Promise<void>((resolve) => sock.end(answerLine(answer), () => resolve()));
}

type LineProblem = { code: number; msg: string };

function readLine(sock: Socket, timeoutMs: number): Promise<string | LineProblem> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (v: string | LineProblem) => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('end', onEnd);
      resolve(v);
    };
    const timer = setTimeout(
      () => done({ code: CODES.io, msg: `nnet-agent: no complete request arrived within ${timeoutMs} ms` }),
      timeoutMs,
    );
    const onData = (b: Buffer) => {
      const nl = b.indexOf(0x0a);
      size += nl < 0 ? b.length : nl;
      if (size > MAX_REQUEST_BYTES) {
        done({ code: CODES.io, msg: `nnet-agent: the request is larger than ${MAX_REQUEST_BYTES} bytes` });
        return;
      }
      chunks.push(nl < 0 ? b : b.subarray(0, nl));
      if (nl >= 0) done(Buffer.concat(chunks).toString('utf8'));
    };
    const onEnd = () => done({ code: CODES.io, msg: 'nnet-agent: the request ended before its newline' });
    sock.on('data', onData);
    sock.on('end', onEnd);
  });
}
