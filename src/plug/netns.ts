/**
 * Network namespaces: the one place that knows how N-Net runs something inside another network
 * namespace. Node.js has no setns(2); every operation here is one child process that enters the
 * namespace and runs `ip -batch -` (or another tool) there: `ip -n NAME` for /var/run/netns/NAME,
 * `nsenter --net=PATH` for any other nsfs path (/proc/PID/ns/net, a bind mount). One process per
 * batch of operations; the measurements behind this choice are in README.md.
 */
import { statfsSync } from 'node:fs';
import { PlugError } from '../errors/index.ts';
import { type RunResult, run } from './spawn.ts';

/** A network namespace: the path of an nsfs file, or undefined for the namespace this process runs in. */
export type NetnsPath = string | undefined;

/** One `ip` command line, e.g. ['link', 'set', 'eth0', 'up']. */
export type IpCommand = readonly string[];

const NSFS_MAGIC = 0x6e736673;

/** True when `path` is a live network namespace (an nsfs file, not a stale mount point). */
export function netnsExists(path: string): boolean {
  try {
    return statfsSync(path).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

/** Throws PlugError('netns-missing') unless `path` is a live network namespace. */
export function assertNetns(path: string, what = 'pod'): void {
  if (!netnsExists(path))
    throw new PlugError('netns-missing', `${what} network namespace ${path} does not exist`);
}

/** How a namespace is named in messages. */
export function netnsLabel(ns: NetnsPath): string {
  return ns === undefined ? 'the current netns' : `netns ${ns}`;
}

/**
 * The argument for `ip link set DEV netns TARGET` that names `ns` from inside any other namespace
 * (the current namespace is named through this process's own /proc entry).
 */
export function netnsTarget(ns: NetnsPath): string {
  return ns ?? `/proc/${process.pid}/ns/net`;
}

const NAMED = /^\/(?:var\/)?run\/netns\/([^/]+)$/;

/**
 * The command line that runs argv inside `ns`. `ip` enters a named netns (/var/run/netns/NAME)
 * itself with `-n NAME`, one exec less than nsenter (~0.5 ms, README.md); anything else goes
 * through `nsenter --net=PATH`.
 */
export function enterArgv(ns: NetnsPath, argv: readonly string[]): string[] {
  if (ns === undefined) return [...argv];
  const named = NAMED.exec(ns);
  if (named && argv[0] === 'ip') return ['ip', '-n', named[1]!, ...argv.slice(1)];
  return ['nsenter', `--net=${ns}`, '--', ...argv];
}

/** Runs argv inside `ns` (one process). Fails with netns-missing when the namespace is gone. */
export async function nsExec(ns: NetnsPath, argv: readonly string[], input?: string): Promise<RunResult> {
  if (ns === undefined) return run(argv, input);
  const res = await run(enterArgv(ns, argv), input);
  if (res.code !== 0 && /^nsenter: |^Cannot open network namespace/m.test(res.stderr)) {
    if (!netnsExists(ns)) throw new PlugError('netns-missing', `network namespace ${ns} does not exist`);
    throw new PlugError('link', `cannot enter network namespace ${ns}: ${firstLine(res.stderr)}`);
  }
  return res;
}

const SAFE_WORD = /^[\w.:/@%+,=-]+$/;

function batchText(cmds: readonly IpCommand[]): string {
  for (const c of cmds)
    for (const w of c)
      if (!SAFE_WORD.test(w)) throw new PlugError('link', `refusing unsafe ip argument ${JSON.stringify(w)}`);
  return cmds.map((c) => `${c.join(' ')}\n`).join('');
}

function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !l.startsWith('Command failed')) ?? s.trim()
  );
}

export interface IpFailure {
  command: string;
  message: string;
}

/** Splits `ip -force -batch` stderr into the failed commands (by their "Command failed -:N" lines). */
export function parseBatchFailures(cmds: readonly IpCommand[], stderr: string): IpFailure[] {
  const failures: IpFailure[] = [];
  let pending: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^Command failed -:(\d+)/.exec(line.trim());
    if (m) {
      const cmd = cmds[Number(m[1]) - 1];
      failures.push({
        command: cmd ? cmd.join(' ') : `line ${m[1]}`,
        message: pending.join('; ') || 'failed',
      });
      pending = [];
    } else if (line.trim() !== '') pending.push(line.trim());
  }
  if (failures.length === 0 && pending.length > 0)
    failures.push({ command: '(batch)', message: pending.join('; ') });
  return failures;
}

/**
 * Runs `ip` commands in `ns` as one batch (one process). Stops at the first failing command and
 * throws PlugError('link') naming the command and the namespace.
 */
export async function ipBatch(ns: NetnsPath, cmds: readonly IpCommand[]): Promise<void> {
  if (cmds.length === 0) return;
  const res = await nsExec(ns, ['ip', '-batch', '-'], batchText(cmds));
  if (res.code === 0) return;
  const f = parseBatchFailures(cmds, res.stderr)[0];
  throw new PlugError(
    'link',
    `ip ${f?.command ?? '(batch)'} failed in ${netnsLabel(ns)}: ${f?.message ?? firstLine(res.stderr)}`,
    { details: res.stderr.trim() },
  );
}

/**
 * Runs every command (`ip -force -batch`) and returns the failures instead of throwing; for
 * best-effort cleanup where "Cannot find device" is success.
 */
export async function ipBatchBestEffort(ns: NetnsPath, cmds: readonly IpCommand[]): Promise<IpFailure[]> {
  if (cmds.length === 0) return [];
  const res = await nsExec(ns, ['ip', '-force', '-batch', '-'], batchText(cmds));
  return res.code === 0 ? [] : parseBatchFailures(cmds, res.stderr);
}

/** Runs read-only `ip -j` commands in one process and returns one parsed JSON array per command. */
export async function ipJsonBatch(ns: NetnsPath, cmds: readonly IpCommand[]): Promise<unknown[][]> {
  if (cmds.length === 0) return [];
  const res = await nsExec(ns, ['ip', '-j', '-d', '-force', '-batch', '-'], batchText(cmds));
  const failures = res.code === 0 ? [] : parseBatchFailures(cmds, res.stderr);
  const lines = res.stdout.split('\n').filter((l) => l.trim() !== '');
  // A failing show command prints nothing on stdout: map outputs back to commands in order.
  const failed = new Set(failures.map((f) => f.command));
  const out: unknown[][] = [];
  let i = 0;
  for (const c of cmds) {
    if (failed.has(c.join(' '))) {
      out.push([]);
      continue;
    }
    const line = lines[i++];
    try {
      const v: unknown = line === undefined ? [] : JSON.parse(line);
      out.push(Array.isArray(v) ? v : []);
    } catch {
      throw new PlugError('link', `unparseable output of ip -j ${c.join(' ')} in ${netnsLabel(ns)}`);
    }
  }
  return out;
}

/**
 * Turns TX checksum offload off on veth devices in `ns` (one process). Needed for veths attached to
 * a userspace (netdev) OVS bridge, or TCP stalls.
 */
export async function txOffloadOff(ns: NetnsPath, devices: readonly string[]): Promise<void> {
  if (devices.length === 0) return;
  for (const d of devices)
    if (!SAFE_WORD.test(d)) throw new PlugError('link', `refusing unsafe device name ${JSON.stringify(d)}`);
  const script =
    'for d; do ethtool -K "$d" tx off >/dev/null || { echo "ethtool -K $d tx off failed" >&2; exit 1; }; done';
  const res = await nsExec(ns, ['sh', '-c', script, 'sh', ...devices]);
  if (res.code !== 0)
    throw new PlugError('link', `${firstLine(res.stderr)} in ${netnsLabel(ns)}`, {
      details: res.stderr.trim(),
    });
}

/** Sets sysctls (keys under net.*) inside `ns` in one process. */
export async function setSysctls(ns: NetnsPath, values: Readonly<Record<string, string>>): Promise<void> {
  const args: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    if (!/^net\.[\w.-]+$/.test(k) || !SAFE_WORD.test(v))
      throw new PlugError('link', `refusing sysctl ${JSON.stringify(k)}=${JSON.stringify(v)}`);
    args.push(`${k}=${v}`);
  }
  if (args.length === 0) return;
  const res = await nsExec(ns, ['sysctl', '-q', '-w', ...args]);
  if (res.code !== 0)
    throw new PlugError(
      'link',
      `sysctl ${args.join(' ')} failed in ${netnsLabel(ns)}: ${firstLine(res.stderr)}`,
    );
}
