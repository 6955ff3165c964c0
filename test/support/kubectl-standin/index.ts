/**
 * The recording kubectl STAND-IN (./kubectl beside this file) for tests: not kubectl. Point
 * kubenetctl at it with `standin.env` and read back how it was called.
 *
 *   const standin = createStandin();
 *   t.after(() => standin.cleanup());
 *   spawnSync(kubenetctl, ['run', 'pod1', '--image=nginx'], { env: { ...env, ...standin.env } });
 *   standin.calls()[0].argv; // ['run', 'pod1', '--image=nginx']
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STANDIN_KUBECTL = join(dirname(fileURLToPath(import.meta.url)), 'kubectl');

export interface StandinCall {
  argv: string[];
  env: Record<string, string>;
  stdin: Buffer;
  signals: string[];
  /** The caller's pid (kubenetctl's). */
  ppid: number;
  ready: boolean;
}

export interface Standin {
  /** Where calls are recorded. */
  dir: string;
  /** Variables that make kubenetctl run the stand-in and the stand-in record into `dir`. */
  env: { KUBECTL: string; KUBECTL_STANDIN_DIR: string };
  /** The recorded calls, in order. */
  calls(): StandinCall[];
  cleanup(): void;
}

function nulSplit(text: string): string[] {
  if (text === '') return [];
  return text.slice(0, -1).split('\0');
}

function readCall(dir: string): StandinCall {
  const read = (name: string) =>
    existsSync(join(dir, name)) ? readFileSync(join(dir, name)) : Buffer.alloc(0);
  const env: Record<string, string> = {};
  for (const entry of nulSplit(read('env').toString('utf8'))) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return {
    argv: nulSplit(read('argv').toString('utf8')),
    env,
    stdin: read('stdin'),
    signals: read('signals').toString('utf8').split('\n').filter(Boolean),
    ppid: Number(read('ppid').toString('utf8').trim()),
    ready: existsSync(join(dir, 'ready')),
  };
}

export function createStandin(): Standin {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-standin-'));
  return {
    dir,
    env: { KUBECTL: STANDIN_KUBECTL, KUBECTL_STANDIN_DIR: dir },
    calls: () =>
      readdirSync(dir)
        .filter((n) => /^\d+$/.test(n))
        .sort((a, b) => Number(a) - Number(b))
        .map((n) => readCall(join(dir, n))),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
