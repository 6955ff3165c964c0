/**
 * What a handler gets: the native arguments, the process's I/O, and lazily the kubectl runner,
 * N-Net's session (store, cluster, Neutron), the network backend, the kubeconfig's default
 * namespace, and whether a signal arrived while N-Net's work was deferring signals.
 */

import { type ExitStatus, type KubectlResult, runKubectl } from './kubectl.ts';
import { type InvokedAs, invokedAs } from './plugin.ts';
import { loadBackend, type NetworkBackend } from './reservations.ts';
import { type NnetSession, openSession } from './session.ts';
import { resolveSettings } from './settings.ts';
import { deferSignals, type SignalGuard } from './signals.ts';
import type { NetworkCommand, NetworkCommandKind, Scope } from './types.ts';

export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout(text: string | Uint8Array): void;
  stderr(text: string): void;
  /** All of stdin (read once, when a handler needs it). */
  readStdin(): Promise<Buffer>;
  /** kubenetctl's own path (never run as kubectl). */
  self?: string;
  /** The name it runs as: `kubectl-nnet` is the kubectl plugin (see plugin.ts). */
  invokedAs?: InvokedAs;
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
  /**
   * N-Net's session for this command; the first call's scope (--store, --cluster, --os-cloud)
   * decides, the environment fills the rest.
   */
  session(scope?: Scope): NnetSession;
  /** The network backend (over session()), or null when N-Net is not configured. */
  backend(): Promise<NetworkBackend | null>;
  /** From now on SIGINT/SIGTERM/SIGHUP are noted instead of ending the process (see signals.ts). */
  deferSignals(): SignalGuard;
  /** The signal noted since deferSignals(), if any. */
  interrupted(): NodeJS.Signals | undefined;
  /** Releases what the command opened (the store). */
  close(): Promise<void>;
  /**
   * The namespace of the kubeconfig's current context (what kubectl uses without -n), else
   * "default"; `--kubeconfig`/`--context` of a network command are honoured.
   */
  defaultNamespace(scope?: Pick<Scope, 'kubeconfig' | 'kubeContext'>): Promise<string>;
  now(): Date;
}

export type CommandOf<K extends NetworkCommandKind> = Extract<NetworkCommand, { kind: K }>;
export type Handler<K extends NetworkCommandKind> = (
  command: CommandOf<K>,
  ctx: CommandContext,
) => Promise<ExitStatus>;

export function createContext(native: string[] | null, io: CliIo): CommandContext {
  let backend: Promise<NetworkBackend | null> | undefined;
  let session: NnetSession | undefined;
  let guard: SignalGuard | undefined;
  const run: CommandContext['kubectl'] = (args, options = {}) =>
    runKubectl(args, { env: io.env, ...options, ...(io.self !== undefined ? { self: io.self } : {}) });
  const sessionOf = (scope: Scope = {}) => {
    session ??= openSession(resolveSettings(io.env, scope));
    return session;
  };
  return {
    native,
    io,
    kubectl: run,
    session: sessionOf,
    backend: () => {
      backend ??= loadBackend(sessionOf());
      return backend;
    },
    deferSignals: () => {
      guard ??= deferSignals();
      return guard;
    },
    interrupted: () => guard?.received(),
    close: async () => {
      guard?.release();
      await session?.close();
    },
    defaultNamespace: async (scope = {}) => {
      const selected = [
        ...(scope.kubeconfig !== undefined ? ['--kubeconfig', scope.kubeconfig] : []),
        ...(scope.kubeContext !== undefined ? ['--context', scope.kubeContext] : []),
      ];
      const args = [...selected, 'config', 'view', '--minify', '--output', 'jsonpath={..namespace}'];
      // No kubectl at all (a node without one): the namespace kubectl would use is "default".
      const result = await Promise.resolve()
        .then(() => run(args, { captureStdout: true, stdin: Buffer.alloc(0), quiet: true }))
        .catch(() => undefined);
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
    invokedAs: invokedAs(process.argv[1]),
  };
}
