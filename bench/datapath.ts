/**
 * Data-path measurements between pod pairs: iperf3 TCP throughput (several runs, configurations
 * interleaved rep by rep, median) and ping RTT at several packet counts (the paper's Figures 5, 6).
 * Every iperf3 server is started here and stopped by its PID; traffic stays inside the pods' netns.
 */
import { spawn } from 'node:child_process';
import { run, SYSTEM_PATH, sleep, stopPid } from '../lab/sh.ts';
import type { Bench } from './cluster.ts';
import type { Endpoint } from './pods.ts';
import { median, quantile } from './stats.ts';

export const PLUGINS = ['nnet', 'hybrid', 'flannel', 'bare', 'nested'] as const;
export type PluginId = (typeof PLUGINS)[number];
export const PLACEMENTS = ['same host', 'across hosts'] as const;
export type Placement = (typeof PLACEMENTS)[number];

export const PLUGIN_LABEL: Record<PluginId, string> = {
  nnet: 'N-Net (internal port)',
  hybrid: 'hybrid (Kuryr/os-vif layout)',
  flannel: 'Flannel-style (kernel bridge + VXLAN)',
  bare: 'bare limit (hand-plugged internal ports)',
  nested: 'N-Net nested (trunk subports in VMs)',
};

/** Shorter names for chart legends. */
export const PLUGIN_SHORT: Record<PluginId, string> = {
  nnet: 'N-Net (internal port)',
  hybrid: 'hybrid (Kuryr layout)',
  flannel: 'Flannel-style (kernel)',
  bare: 'bare OVS limit',
  nested: 'N-Net nested (in VMs)',
};

/**
 * `underlay`: a reference, not a plugin — node 1 to node 2 over their br-phy addresses (OVS user
 * space + the veth underlay, no geneve, no pod): the ceiling of any cross-host OVS path here.
 */
export type ConfigId = PluginId | 'underlay' | 'nnet-svc';

/** `nnet-svc`: the N-Net pairs again, the client dialling a ClusterIP whose endpoint is the server (bench/service.ts). */
export const SERVICE_LABEL = 'N-Net via ClusterIP (kube-proxy stand-in)';

export interface PairConfig {
  plugin: ConfigId;
  placement: Placement;
  client: Endpoint;
  server: Endpoint;
  /** The address the client dials when it is not the server's own (a ClusterIP). */
  dial?: string;
}

export const dialIp = (c: PairConfig): string => c.dial ?? c.server.ip;

export const configKey = (c: { plugin: ConfigId; placement: Placement }) =>
  `${c.plugin}/${c.placement === 'same host' ? 'same' : 'across'}`;

export interface IperfRun {
  gbps: number;
  retransmits: number | null;
  error?: string;
}

export interface PingRun {
  count: number;
  intervalS: number;
  transmitted: number;
  received: number;
  minMs: number;
  avgMs: number;
  maxMs: number;
  mdevMs: number;
  /** From the per-packet times: robust against a few slow replies when other work runs. */
  medianMs: number;
  p90Ms: number;
}

/** Pings until the pair answers (OVN may still be programming flows), up to `ms`. */
export async function waitConnected(c: PairConfig, ms = 30_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = await run('ping', ['-c', '1', '-W', '1', c.server.ip], {
      netns: c.client.netns,
      allowFail: true,
    });
    if (r.code === 0) return true;
    await sleep(200);
  }
  return false;
}

async function iperfOnce(b: Bench, c: PairConfig, seconds: number): Promise<IperfRun> {
  const marker = `iperf3 -s -1 -B ${c.server.ip}`;
  const server = spawn('ip', ['netns', 'exec', c.server.netns, 'iperf3', '-s', '-1', '-B', c.server.ip], {
    stdio: ['ignore', 'ignore', 'ignore'],
    env: { PATH: SYSTEM_PATH },
  });
  const pid = server.pid;
  if (pid === undefined) return { gbps: Number.NaN, retransmits: null, error: 'iperf3 server did not start' };
  b.state.update((s) => void s.pids.push({ label: `iperf3 server in ${c.server.netns}`, pid, marker }));
  try {
    let last = '';
    for (let attempt = 0; attempt < 40; attempt++) {
      await sleep(attempt === 0 ? 150 : 100);
      const r = await run(
        'iperf3',
        ['-c', dialIp(c), '-t', String(seconds), '-O', '1', '-J', '--connect-timeout', '1000'],
        { netns: c.client.netns, allowFail: true, timeoutMs: (seconds + 20) * 1000 },
      );
      let doc: {
        end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } };
        error?: string;
      } = {};
      try {
        doc = JSON.parse(r.stdout);
      } catch {
        doc = { error: r.stderr || r.stdout };
      }
      const bps = doc.end?.sum_received?.bits_per_second;
      if (r.code === 0 && typeof bps === 'number')
        return { gbps: bps / 1e9, retransmits: doc.end?.sum_sent?.retransmits ?? null };
      last = doc.error ?? r.stderr;
      if (!/connect|refused|busy/i.test(last)) break;
    }
    return { gbps: Number.NaN, retransmits: null, error: last.trim().slice(0, 300) };
  } finally {
    await stopPid(pid, marker, 2000);
    b.state.update((s) => {
      s.pids = s.pids.filter((p) => p.pid !== pid);
    });
  }
}

/** Rotates the order each rep, so no configuration always runs first (or right after another). */
export const rotated = <T>(xs: readonly T[], by: number): T[] => xs.map((_, i) => xs[(i + by) % xs.length]!);

export async function measureThroughput(
  b: Bench,
  configs: readonly PairConfig[],
  o: { reps: number; seconds: number; log: (l: string) => void },
): Promise<Record<string, IperfRun[]>> {
  const out: Record<string, IperfRun[]> = Object.fromEntries(configs.map((c) => [configKey(c), []]));
  for (let rep = 0; rep < o.reps; rep++) {
    const line: string[] = [];
    for (const c of rotated(configs, rep)) {
      const r = await iperfOnce(b, c, o.seconds);
      out[configKey(c)]!.push(r);
      line.push(`${configKey(c)} ${Number.isFinite(r.gbps) ? r.gbps.toFixed(2) : 'ERR'}`);
    }
    o.log(`iperf3 rep ${rep + 1}/${o.reps} (Gbit/s): ${line.join(', ')}`);
  }
  for (const c of configs) {
    const runs = out[configKey(c)]!;
    const err = runs.find((r) => r.error)?.error;
    if (err) o.log(`${configKey(c)}: ${err}`);
  }
  return out;
}

const PING_RE = /(\d+) packets transmitted, (\d+) received/;
const RTT_RE = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/;

async function pingOnce(c: PairConfig, count: number, intervalS: number): Promise<PingRun> {
  const r = await run('ping', ['-n', '-c', String(count), '-i', String(intervalS), '-W', '2', c.server.ip], {
    netns: c.client.netns,
    allowFail: true,
    timeoutMs: count * intervalS * 1000 + 20_000,
  });
  const p = PING_RE.exec(r.stdout);
  const t = RTT_RE.exec(r.stdout);
  const times = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  return {
    count,
    intervalS,
    transmitted: p ? Number(p[1]) : 0,
    received: p ? Number(p[2]) : 0,
    minMs: t ? Number(t[1]) : Number.NaN,
    avgMs: t ? Number(t[2]) : Number.NaN,
    maxMs: t ? Number(t[3]) : Number.NaN,
    mdevMs: t ? Number(t[4]) : Number.NaN,
    medianMs: quantile(times, 0.5),
    p90Ms: quantile(times, 0.9),
  };
}

export async function measureRtt(
  configs: readonly PairConfig[],
  o: { counts: readonly number[]; intervalS: number; log: (l: string) => void },
): Promise<Record<string, PingRun[]>> {
  const out: Record<string, PingRun[]> = Object.fromEntries(configs.map((c) => [configKey(c), []]));
  for (const [i, count] of o.counts.entries()) {
    const line: string[] = [];
    for (const c of rotated(configs, i)) {
      const r = await pingOnce(c, count, o.intervalS);
      out[configKey(c)]!.push(r);
      line.push(`${configKey(c)} ${Number.isFinite(r.avgMs) ? r.avgMs.toFixed(3) : 'ERR'}`);
    }
    o.log(`ping ×${count} every ${o.intervalS} s, avg RTT (ms): ${line.join(', ')}`);
  }
  return out;
}

/** Median throughput of a configuration's runs (failed runs excluded). */
export const medianGbps = (runs: readonly IperfRun[] | undefined): number =>
  median((runs ?? []).map((r) => r.gbps));

/** One RTT per configuration: the mean of the per-count averages (the paper reports it stable across counts). */
export const rttOf = (runs: readonly PingRun[] | undefined, stat: 'avgMs' | 'medianMs' = 'avgMs'): number => {
  const xs = (runs ?? []).map((r) => r[stat]).filter((x) => typeof x === 'number' && Number.isFinite(x));
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
};
