/**
 * What a handler gets: the native arguments, the process's I/O, and lazily the kubectl runner,
 * the network backend and the kubeconfig's default namespace.
 */
import { loadBackend, type NetworkBackend } from './backend.ts';
import { type ExitStatus, type KubectlResult, runKubectl } from './kubectl.ts';
import type { NetworkCommand, NetworkCommandKind } from './types.ts';

export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout(text: string | Uint8Array): void;
  stderr(text: string): void;
  /** All of stdin (read once, when a handler needs it). */
  readStdin(): Promise<Buffer>;
  /** kubenetctl's own path (never run as kubectl). */
  self?: string;
  now?: () => Date;
}

export interface CommandContext {
  /** The parser's native part: what kubectl gets, unchanged. */
  native: string[] | null;
  io: CliIo;
  kubectl(
    args: readonly string[],
    options?: { stdin?: Buffer; captureStdout?: boolean; quiet?: boolean },
  ): Promise<KubectlResult>;
  /** The network backend, or null when N-Net is not configured. */
  backend(): Promise<NetworkBackend | null>;
  /** The namespace of the kubeconfig's current context (what kubectl uses without -n), else "default". */
  defaultNamespace(): Promise<string>;
  now(): Date;
}

export type CommandOf<K extends NetworkCommandKind> = Extract<NetworkCommand, { kind: K }>;
export type Handler<K extends NetworkCommandKind> = (
  command: CommandOf<K>,
  ctx: CommandContext,
) => Promise<ExitStatus>;

export function createContext(native: string[] | null, io: CliIo): CommandContext {
  let backend: Promise<NetworkBackend | null> | undefined;
  const run: CommandContext['kubectl'] = (args, options = {}) =>
    runKubectl(args, { env: io.env, ...options, ...(io.self !== undefined ? { self: io.self } : {}) });
  return {
    native,
    io,
    kubectl: run,
    backend: () => {
      backend ??= loadBackend(io.env);
      return backend;
    },
    defaultNamespace: async () => {
      const result = await run(['config', 'view', '--minify', '--output', 'jsonpath={..namespace}'], {
        captureStdout: true,
        stdin: Buffer.alloc(0),
        quiet: true,
      }).catch(() => undefined);
      const ns = result?.code === 0 ? result.stdout?.toString('utf8').trim() : '';
      return ns ? ns : 'default';
    },
    now: () => (io.now ? io.now() : new Date()),
  };
}

/** I/O of the real process. */
export function processIo(): CliIo {
  const ignoreEpipe = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  };
  process.stdout.on('error', ignoreEpipe);
  process.stderr.on('error', ignoreEpipe);
  return {
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin: () =>
      new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        process.stdin.on('data', (chunk: Buffer) => chunks.push(chunk));
        process.stdin.on('end', () => resolve(Buffer.concat(chunks)));
        process.stdin.on('error', reject);
      }),
    ...(process.argv[1] !== undefined ? { self: process.argv[1] } : {}),
  };
}
