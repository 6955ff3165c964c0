/**
 * nnet-agent's command line → typed options (pure). Durations are `500ms`, `30s`, `5m`, `1h` or a
 * plain number of seconds; bad input is InputError('invalid-argument') naming the flag.
 *
 *   parseAgentArgs(['--cni-config', '/etc/cni/net.d/10-nnet.conflist', '--grace=2m'])
 */
import { InputError } from '../errors/index.ts';
import type { LogLevel } from '../log/index.ts';

export const DEFAULT_CNI_CONFIG = '/etc/cni/net.d/10-nnet.conflist';
export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9477';

export interface ListenAddress {
  host: string;
  /** 0 = any free port (the agent logs the one it got). */
  port: number;
}

export interface AgentArgs {
  /** The CNI config file (conflist or single plugin config) the nnet plugin runs with. */
  cniConfig: string;
  /** Time between two reconciles (sweeps) of the node. */
  reconcileIntervalMs: number;
  /** Leftovers younger than this may belong to an ADD still running; the sweep leaves them. */
  graceMs: number;
  /** Where /metrics is served; undefined = not served (`--metrics-listen off`). */
  metricsListen: ListenAddress | undefined;
  /** One replug pass and one reconcile, then exit. */
  once: boolean;
  /** Refuse a CNI config without a `credentials` reference (no fallback to the store's). */
  requireCredentials: boolean;
  /** JSON-lines log file; undefined = stderr. */
  logFile: string | undefined;
  logLevel: LogLevel;
  /** The CNI socket; undefined = the config's `agentSocket` (default /run/nnet/cni.sock). */
  socket: string | undefined;
  /** Neutron requests in flight at once for the node (the node's queue). */
  neutronConcurrency: number;
  help: boolean;
}

export const USAGE = `Usage: nnet-agent [flags]

The N-Net node agent: serves the nnet plugin's CNI requests on a root-only unix socket, keeps
warm port pools, re-plugs pods' NICs after ovs-vswitchd restarts, reconciles the node (releases
what no pod uses any more), and serves Prometheus metrics.

Flags:
  --cni-config PATH          the nnet CNI config (conflist or plugin config) (default ${DEFAULT_CNI_CONFIG})
  --socket PATH              the CNI socket (default: the config's agentSocket, else /run/nnet/cni.sock)
  --neutron-concurrency N    Neutron requests in flight at once for the node (default 4)
  --reconcile-interval DUR   time between reconciles (default 60s)
  --grace DUR                leave leftovers younger than this to the ADD that may own them (default 60s)
  --metrics-listen HOST:PORT serve /metrics there, or "off" (default ${DEFAULT_METRICS_LISTEN})
  --once                     one replug pass and one reconcile, then exit (1 when something failed)
  --require-credentials      exit 2 unless the CNI config references a usable credentials file
  --log-file PATH            JSON-lines log file (default: stderr)
  --log-level LEVEL          debug, info, warn or error (default info)
  -h, --help                 this text
Durations: 500ms, 30s, 5m, 1h, or a number of seconds.
`;

const bad = (msg: string) => new InputError('invalid-argument', msg);

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "30s" → 30000. */
export function parseDuration(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw bad(`--${flag}: "${value.slice(0, 40)}" is not a duration (e.g. 30s, 5m, 500ms)`);
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']!);
  if (!Number.isFinite(ms) || ms > 7 * 24 * 3_600_000) throw bad(`--${flag}: ${value} is too long`);
  return ms;
}

export function parseListen(value: string): ListenAddress | undefined {
  if (value === 'off' || value === 'none') return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || port > 65535)
    throw bad(
      `--metrics-listen: "${value.slice(0, 60)}" must be HOST:PORT (e.g. ${DEFAULT_METRICS_LISTEN}) or off`,
    );
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const VALUE_FLAGS = new Set([
  'cni-config',
  'reconcile-interval',
  'grace',
  'metrics-listen',
  'log-file',
  'log-level',
  'socket',
  'neutron-concurrency',
]);

export function parseAgentArgs(argv: readonly string[]): AgentArgs {
  const out: AgentArgs = {
    cniConfig: DEFAULT_CNI_CONFIG,
    reconcileIntervalMs: 60_000,
    graceMs: 60_000,
    metricsListen: parseListen(DEFAULT_METRICS_LISTEN),
    once: false,
    requireCredentials: false,
    logFile: undefined,
    logLevel: 'info',
    socket: undefined,
    neutronConcurrency: 4,
    help: false,
  };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      out.help = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw bad(`unexpected argument "${arg.slice(0, 60)}" (see --help)`);
    const name = m[1]!;
    if (name === 'once' || name === 'require-credentials') {
      if (m[2] !== undefined) throw bad(`--${name} takes no value`);
      if (name === 'once') out.once = true;
      else out.requireCredentials = true;
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw bad(`unknown flag --${name.slice(0, 40)} (see --help)`);
    if (seen.has(name)) throw bad(`--${name} given twice`);
    seen.add(name);
    let value = m[2];
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw bad(`--${name} needs a value`);
    }
    switch (name) {
      case 'cni-config':
      case 'log-file':
      case 'socket':
        if (!value.startsWith('/') || value.includes('\0')) throw bad(`--${name}: must be an absolute path`);
        if (name === 'cni-config') out.cniConfig = value;
        else if (name === 'socket') out.socket = value;
        else out.logFile = value;
        break;
      case 'neutron-concurrency':
        if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 64)
          throw bad('--neutron-concurrency must be a number from 1 to 64');
        out.neutronConcurrency = Number(value);
        break;
      case 'reconcile-interval':
        out.reconcileIntervalMs = parseDuration(name, value);
        if (out.reconcileIntervalMs < 100) throw bad('--reconcile-interval must be at least 100ms');
        break;
      case 'grace':
        out.graceMs = parseDuration(name, value);
        break;
      case 'metrics-listen':
        out.metricsListen = parseListen(value);
        break;
      case 'log-level':
        if (!LEVELS.includes(value as LogLevel)) throw bad(`--log-level must be one of ${LEVELS.join(', ')}`);
        out.logLevel = value as LogLevel;
        break;
    }
  }
  return out;
}
