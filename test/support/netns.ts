/**
 * Test network namespaces ("pods"): create one with a prefix, run commands inside, delete it.
 *
 *   const pod = createNetns('nntp');            // /var/run/netns/nntp-3f9a1c
 *   t.after(() => pod.remove());
 *   pod.exec(['ip', 'addr']);                    // throws with stderr when the command fails
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestNetns {
  name: string;
  /** /var/run/netns/NAME: what CNI_NETNS would be. */
  path: string;
  /** Runs argv inside the netns; throws (with stderr) on a non-zero exit. */
  exec(argv: readonly string[], opts?: { timeoutMs?: number; input?: string }): string;
  /** Runs argv inside the netns and returns the result whatever the exit code. */
  run(argv: readonly string[], opts?: { timeoutMs?: number; input?: string }): ExecResult;
  /** Starts argv inside the netns in the background (the caller stops it by its PID). */
  spawn(argv: readonly string[]): ChildProcess;
  /** Deletes the netns (idempotent). */
  remove(): void;
}

const PATH_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

/** Runs argv in netns `name` ('' = the current netns). */
export function execInNetns(
  name: string,
  argv: readonly string[],
  opts: { timeoutMs?: number; input?: string } = {},
): ExecResult {
  const full = name ? ['ip', 'netns', 'exec', name, ...argv] : [...argv];
  const r = spawnSync(full[0]!, full.slice(1), {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 30_000,
    env: PATH_ENV,
    input: opts.input,
  });
  return {
    code: r.status ?? 1,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (r.error ? String(r.error) : ''),
  };
}

export function netnsExistsByName(name: string): boolean {
  return existsSync(`/var/run/netns/${name}`);
}

/** Deletes netns `name` if it exists. Refuses names not starting with `prefix`. */
export function deleteNetns(name: string, prefix = 'nntp'): void {
  if (!name.startsWith(prefix)) throw new Error(`refusing to delete netns ${name}: not ${prefix}…`);
  if (netnsExistsByName(name)) execInNetns('', ['ip', 'netns', 'del', name]);
}

/** Creates a fresh netns named `${prefix}-<random>` (or exactly `name`) with lo up. */
export function createNetns(prefix = 'nntp', name?: string): TestNetns {
  const n = name ?? `${prefix}-${randomBytes(3).toString('hex')}`;
  if (!n.startsWith(prefix)) throw new Error(`netns name ${n} must start with ${prefix}`);
  const add = execInNetns('', ['ip', 'netns', 'add', n]);
  if (add.code !== 0) throw new Error(`ip netns add ${n}: ${add.stderr.trim()}`);
  execInNetns(n, ['ip', 'link', 'set', 'lo', 'up']);
  const run = (argv: readonly string[], opts?: { timeoutMs?: number; input?: string }) =>
    execInNetns(n, argv, opts);
  return {
    name: n,
    path: `/var/run/netns/${n}`,
    run,
    exec(argv, opts) {
      const r = run(argv, opts);
      if (r.code !== 0)
        throw new Error(`in netns ${n}: ${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
      return r.stdout;
    },
    spawn(argv) {
      return spawn('ip', ['netns', 'exec', n, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: PATH_ENV });
    },
    remove: () => deleteNetns(n, prefix),
  };
}

interface AfterCapable {
  after(fn: () => unknown): void;
}
const stacks = new WeakMap<AfterCapable, (() => unknown)[]>();

/**
 * Registers `fn` to run after the test, LIFO (node:test runs t.after hooks in registration order,
 * so "delete the network" registered before "delete its port" would fail). Every cleanup runs
 * even when an earlier one throws; the first error is rethrown at the end.
 */
export function onCleanup(t: AfterCapable, fn: () => unknown): void {
  let stack = stacks.get(t);
  if (!stack) {
    const s: (() => unknown)[] = [];
    stacks.set(t, s);
    stack = s;
    t.after(async () => {
      let first: unknown;
      while (s.length > 0) {
        try {
          await s.pop()!();
        } catch (e) {
          first ??= e;
        }
      }
      if (first !== undefined) throw first;
    });
  }
  stack.push(fn);
}
