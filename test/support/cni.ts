/**
 * The CNI runtime side of tests: the built `nnet` plugin (the thin client of nnet-agent, whose
 * socket the conflist's `agentSocket` names) installed in a bin dir, a conflist in a config dir,
 * and the libcni harness (test/harness, Debian's libcni) calling it exactly as containerd does:
 * ADD → cached result → CHECK → DEL. The agent itself is test/support/agent.ts.
 *
 *   const rt = cniRuntime({ prefix: 'nntc', plugin: { store, cluster, nodeName, … } });
 *   const r = rt.call('add', { id, netns: pod.path, args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'pod1' } });
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './env.ts';

export const HARNESS = join(PROJECT_ROOT, 'test/harness/bin/nnet-cni-harness');
export const PLUGIN = join(PROJECT_ROOT, 'dist/nnet');
/**
 * The runtime's deadline for one call, and the plugin's own (timeouts.totalMs). Generous: on a
 * loaded 2-core machine 32 ADDs queued at Neutron's single API worker take minutes, and a test
 * must not fail for that; speed is the benchmark's to report.
 */
const RUNTIME_DEADLINE_S = 300;
const PLUGIN_DEADLINE_MS = 280_000;

export type HarnessVerb = 'add' | 'check' | 'del' | 'validate' | 'version';

export interface HarnessCall {
  id: string;
  netns?: string;
  ifname?: string;
  args?: Record<string, string>;
  ips?: string[];
  mac?: string;
  /** The runtime's portMappings capability (for portmap chained after nnet). */
  portMappings?: { hostPort: number; containerPort: number; protocol: 'tcp' | 'udp' }[];
}

export interface HarnessResult {
  code: number; // exit code: 0 ok, 2 plugin error, 3 harness error
  json: Record<string, unknown> | undefined;
  stdout: string;
  stderr: string;
}

export interface CniRuntime {
  dir: string;
  confDir: string;
  binDir: string;
  cacheDir: string;
  logFile: string;
  /** The plugin config (the conflist's single plugin entry). */
  plugin: Record<string, unknown>;
  /** The conflist file (what nnet-agent's --cni-config reads). */
  conflist: string;
  call(verb: HarnessVerb, c?: HarnessCall): HarnessResult;
  callAsync(verb: HarnessVerb, c?: HarnessCall): Promise<HarnessResult>;
  /** Starts a call in a process group of its own (kill(-pid) stops the harness and its plugin). */
  spawnCall(verb: HarnessVerb, c?: HarnessCall): ChildProcess;
  /** Runs the plugin directly with CNI_* env and a config on stdin (STATUS, GC: libcni 1.1 lacks them). */
  direct(env: Record<string, string>, stdin: string): HarnessResult;
  /** The same without blocking this process (for tests that serve the plugin from it). */
  directAsync(env: Record<string, string>, stdin: string): Promise<HarnessResult>;
  remove(): void;
}

export interface CniRuntimeOptions {
  prefix: string;
  plugin: Record<string, unknown>;
  networkName?: string;
  /** libcni 1.1.2 (Debian) knows results up to 1.0.0. */
  cniVersion?: string;
  /** The plugin binary (default: the shipped build, PLUGIN). */
  binary?: string;
  /** Plugins chained after nnet (e.g. portmap), from Debian's containernetworking-plugins. */
  chain?: Record<string, unknown>[];
  /** The netns the runtime runs in (a path), as a node's runtime runs in the node: chained plugins write their rules there. */
  netns?: string;
}

/** Where Debian's containernetworking-plugins installs its plugins. */
export const CNI_PLUGINS_DIR = '/usr/lib/cni';

export function cniRuntime(o: CniRuntimeOptions): CniRuntime {
  const dir = mkdtempSync(join(tmpdir(), `${o.prefix}-cni-`));
  const confDir = join(dir, 'net.d');
  const binDir = join(dir, 'bin');
  const cacheDir = join(dir, 'cache');
  const logFile = join(dir, 'nnet.log');
  for (const d of [confDir, binDir, cacheDir]) mkdirSync(d, { recursive: true });
  symlinkSync(o.binary ?? PLUGIN, join(binDir, 'nnet'));
  for (const p of o.chain ?? [])
    symlinkSync(join(CNI_PLUGINS_DIR, String(p.type)), join(binDir, String(p.type)));
  const name = o.networkName ?? `${o.prefix}-net`;
  const cniVersion = o.cniVersion ?? '1.0.0';
  // libcni passes the ips/mac capabilities only to plugins that declare them.
  const plugin = {
    type: 'nnet',
    capabilities: { ips: true, mac: true },
    logFile,
    logLevel: 'debug',
    timeouts: { totalMs: PLUGIN_DEADLINE_MS },
    ...o.plugin,
  };
  const conflist = join(confDir, '10-nnet.conflist');
  writeFileSync(
    conflist,
    JSON.stringify({ cniVersion, name, plugins: [plugin, ...(o.chain ?? [])] }, null, 2),
  );
  // nsenter --net only: the runtime keeps the host's mounts (the agent's socket, /run/netns).
  const command = o.netns ? 'nsenter' : HARNESS;
  const argv = (verb: HarnessVerb, c: HarnessCall = { id: 'none' }) => [
    ...(o.netns ? [`--net=${o.netns}`, HARNESS] : []),
    `-confdir=${confDir}`,
    `-bindir=${binDir}`,
    `-cachedir=${cacheDir}`,
    `-id=${c.id}`,
    `-netns=${c.netns ?? ''}`,
    `-ifname=${c.ifname ?? 'eth0'}`,
    `-timeout=${RUNTIME_DEADLINE_S}s`,
    `-args=${Object.entries(c.args ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(';')}`,
    ...(c.ips ? [`-ips=${c.ips.join(',')}`] : []),
    ...(c.mac ? [`-mac=${c.mac}`] : []),
    ...(c.portMappings ? [`-portmappings=${JSON.stringify(c.portMappings)}`] : []),
    verb,
  ];
  const parse = (code: number, stdout: string, stderr: string): HarnessResult => {
    let json: Record<string, unknown> | undefined;
    try {
      json = stdout.trim() ? JSON.parse(stdout) : undefined;
    } catch {
      json = undefined;
    }
    return { code, json, stdout, stderr };
  };
  return {
    dir,
    confDir,
    binDir,
    cacheDir,
    logFile,
    plugin: { cniVersion, name, ...plugin },
    conflist,
    call(verb, c) {
      const r = spawnSync(command, argv(verb, c), {
        encoding: 'utf8',
        timeout: (RUNTIME_DEADLINE_S + 30) * 1000,
      });
      return parse(r.status ?? 1, r.stdout ?? '', r.stderr ?? '');
    },
    callAsync(verb, c) {
      return new Promise((resolve) => {
        const child = spawn(command, argv(verb, c), {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => {
          out += d;
        });
        child.stderr.on('data', (d) => {
          err += d;
        });
        child.on('close', (code) => resolve(parse(code ?? 1, out, err)));
      });
    },
    spawnCall(verb, c) {
      return spawn(command, argv(verb, c), { stdio: 'ignore', detached: true });
    },
    direct(env, stdin) {
      const r = spawnSync(PLUGIN, [], {
        encoding: 'utf8',
        input: stdin,
        env: { PATH: process.env.PATH ?? '', CNI_PATH: binDir, ...env },
        timeout: (RUNTIME_DEADLINE_S + 30) * 1000,
      });
      return parse(r.status ?? 1, r.stdout ?? '', r.stderr ?? '');
    },
    directAsync(env, stdin) {
      return new Promise((resolve) => {
        const child = spawn(PLUGIN, [], {
          env: { PATH: process.env.PATH ?? '', CNI_PATH: binDir, ...env },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => {
          out += d;
        });
        child.stderr.on('data', (d) => {
          err += d;
        });
        child.on('close', (code) => resolve(parse(code ?? 1, out, err)));
        child.stdin.end(stdin);
      });
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The plugin's log lines (JSON), for assertions. */
export function logLines(rt: CniRuntime): Record<string, unknown>[] {
  try {
    return readFileSync(rt.logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}
