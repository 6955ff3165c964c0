/**
 * Runs the real kubectl: arguments unchanged, stdio inherited (or stdin fed / stdout captured
 * when a handler needs it), SIGINT/SIGTERM/SIGHUP forwarded to it while it runs, and its exit
 * status reported as it was (code, or the signal that killed it).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { InputError } from '../errors/index.ts';

export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export interface ExitStatus {
  /** The exit code; 128+n when the child died of signal n. */
  code: number;
  signal?: NodeJS.Signals;
}

export interface KubectlRunOptions {
  env: NodeJS.ProcessEnv;
  /** Bytes to feed kubectl's stdin instead of inheriting ours (e.g. a manifest read from `-f -`). */
  stdin?: Buffer;
  /** Capture stdout instead of inheriting it. */
  captureStdout?: boolean;
  /** Discard stderr (for kubenetctl's own queries to kubectl). */
  quiet?: boolean;
  /** kubenetctl's own path, never to be run as kubectl (a kubectl → kubenetctl symlink loops). */
  self?: string;
}

export interface KubectlResult extends ExitStatus {
  stdout?: Buffer;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function sameFile(a: string, b: string | undefined): boolean {
  if (b === undefined) return false;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** kubectl's path: $KUBECTL (a path, or a name looked up in PATH), else `kubectl` in PATH. */
export function resolveKubectl(env: NodeJS.ProcessEnv, self?: string): string {
  const wanted = env.KUBECTL && env.KUBECTL !== '' ? env.KUBECTL : 'kubectl';
  if (wanted.includes('/')) {
    const path = isAbsolute(wanted) ? wanted : resolve(wanted);
    if (!isExecutableFile(path))
      throw new InputError('invalid-env', `KUBECTL=${wanted} is not an executable file`);
    return path;
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const path = join(dir === '' ? '.' : dir, wanted);
    if (isExecutableFile(path) && !sameFile(path, self)) return path;
  }
  throw new InputError(
    'invalid-env',
    `${wanted} not found in PATH: kubenetctl runs kubectl for every Kubernetes command; install kubectl or set KUBECTL to its path`,
  );
}

export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 0);
}

export function runKubectl(args: readonly string[], options: KubectlRunOptions): Promise<KubectlResult> {
  const file = resolveKubectl(options.env, options.self);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      env: options.env,
      stdio: [
        options.stdin ? 'pipe' : 'inherit',
        options.captureStdout ? 'pipe' : 'inherit',
        options.quiet ? 'ignore' : 'inherit',
      ],
    });
    const forward = (signal: NodeJS.Signals) => () => {
      child.kill(signal);
    };
    const handlers = FORWARDED_SIGNALS.map((signal) => [signal, forward(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const stopForwarding = () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };

    const chunks: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    if (options.stdin && child.stdin) {
      // kubectl may exit without reading all of its input; that is not our error.
      child.stdin.on('error', () => {});
      child.stdin.end(options.stdin);
    }
    child.on('error', (err) => {
      stopForwarding();
      reject(new InputError('invalid-env', `could not run ${file}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      stopForwarding();
      const result: KubectlResult =
        signal !== null ? { code: signalExitCode(signal), signal } : { code: code ?? 1 };
      if (options.captureStdout) result.stdout = Buffer.concat(chunks);
      resolvePromise(result);
    });
  });
}
