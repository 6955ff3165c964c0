/**
 * The Service path's cost: the N-Net client pod dials a ClusterIP whose one endpoint is the N-Net
 * server pod of the direct pair (same host, across hosts), so the two configurations differ only
 * by the Service path — pod → its node's port → the node's netfilter (kube-proxy's DNAT, N-Net's
 * masquerade) → the endpoint pod, and back through the same node.
 *
 * The Services are written by the KUBE-PROXY STAND-IN (lab/kube-proxy-standin.ts: the iptables-nft
 * rules kube-proxy writes; kube-proxy itself needs an API server), on both nodes as kube-proxy
 * would, in the nodes' own netns only. kube-proxy DNATs no ICMP, so ping cannot measure the
 * Service RTT: a TCP request/response tool (bench/tcp-echo.mjs) measures it, and the direct pair
 * with the same tool, interleaved in one loop.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { applyStandin, removeStandin, type StandinService } from '../lab/kube-proxy-standin.ts';
import { run, SYSTEM_PATH, sleep, stopPid } from '../lab/sh.ts';
import { PROJECT_ROOT } from '../test/support/env.ts';
import type { Bench } from './cluster.ts';
import { configKey, dialIp, type PairConfig, type PingRun, type Placement, rotated } from './datapath.ts';
import type { Endpoint } from './pods.ts';
import { quantile } from './stats.ts';

export const ECHO = join(PROJECT_ROOT, 'bench/tcp-echo.mjs');
export const ECHO_PORT = 7007;
export const IPERF_PORT = 5201;
/** In the cluster's default Service CIDR (10.96.0.0/12). */
export const CLUSTER_IPS: Record<Placement, string> = {
  'same host': '10.96.77.10',
  'across hosts': '10.96.77.20',
};

/** The Service configurations next to the direct N-Net pairs `[client, same-host server, other-host server]`. */
export function serviceConfigs([client, same, other]: readonly [Endpoint, Endpoint, Endpoint]): PairConfig[] {
  return [
    { plugin: 'nnet-svc', placement: 'same host', client, server: same, dial: CLUSTER_IPS['same host'] },
    {
      plugin: 'nnet-svc',
      placement: 'across hosts',
      client,
      server: other,
      dial: CLUSTER_IPS['across hosts'],
    },
  ];
}

/** The stand-in's Services: per ClusterIP, iperf3's port and the echo port, to the one endpoint. */
export function benchServices(configs: readonly PairConfig[]): StandinService[] {
  return configs.flatMap((c) =>
    (
      [
        ['iperf', IPERF_PORT],
        ['echo', ECHO_PORT],
      ] as const
    ).map(([port, n]) => ({
      name: `bench/${configKey(c).replace('/', '-')}:${port}`,
      clusterIp: dialIp(c),
      port: n,
      protocol: 'tcp' as const,
      endpoints: [{ ip: c.server.ip, port: n }],
    })),
  );
}

export async function applyServices(b: Bench, services: readonly StandinService[]): Promise<void> {
  for (const n of b.nodes) await applyStandin(n.netns, services);
}

/** Removes the stand-in's chains and jumps from the nodes (deleting the node netns would too). */
export async function removeServices(b: Bench): Promise<void> {
  for (const n of b.nodes) await removeStandin(n.netns).catch(() => undefined);
}

/** Starts an echo server in each endpoint (recorded by PID); returns what stops them. */
export async function startEchoServers(b: Bench, servers: readonly Endpoint[]): Promise<() => Promise<void>> {
  const started: { pid: number; marker: string }[] = [];
  for (const s of servers) {
    const marker = `tcp-echo.mjs serve ${s.ip} `;
    const child = spawn(
      'ip',
      ['netns', 'exec', s.netns, process.execPath, ECHO, 'serve', s.ip, String(ECHO_PORT)],
      {
        stdio: 'ignore',
        env: { PATH: SYSTEM_PATH },
      },
    );
    const pid = child.pid;
    if (pid === undefined) throw new Error(`the echo server in ${s.netns} did not start`);
    b.state.update((st) => void st.pids.push({ label: `tcp echo server in ${s.netns}`, pid, marker }));
    started.push({ pid, marker });
  }
  return async () => {
    for (const { pid, marker } of started) {
      await stopPid(pid, marker, 2000);
      b.state.update((st) => {
        st.pids = st.pids.filter((p) => p.pid !== pid);
      });
    }
  };
}

interface ProbeOut {
  times: number[];
  error?: string;
}

async function probe(c: PairConfig, count: number, intervalMs: number): Promise<ProbeOut> {
  const r = await run(
    process.execPath,
    [ECHO, 'probe', dialIp(c), String(ECHO_PORT), String(count), String(intervalMs)],
    { netns: c.client.netns, allowFail: true, timeoutMs: count * (intervalMs + 2000) + 20_000 },
  );
  try {
    return JSON.parse(r.stdout) as ProbeOut;
  } catch {
    return { times: [], error: (r.stderr || r.stdout).trim().slice(0, 300) };
  }
}

/** Probes until one request is answered (OVN flows, ARP), up to `ms`. */
export async function waitTcpConnected(c: PairConfig, ms = 30_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await probe(c, 1, 0)).times.length === 1) return true;
    await sleep(300);
  }
  return false;
}

/** TCP request/response RTT at each count, configurations interleaved; the shape of a ping run. */
export async function measureTcpRtt(
  configs: readonly PairConfig[],
  o: { counts: readonly number[]; intervalS: number; log: (l: string) => void },
): Promise<Record<string, PingRun[]>> {
  const out: Record<string, PingRun[]> = Object.fromEntries(configs.map((c) => [configKey(c), []]));
  for (const [i, count] of o.counts.entries()) {
    const line: string[] = [];
    for (const c of rotated(configs, i)) {
      const p = await probe(c, count, o.intervalS * 1000);
      const r = pingShaped(p.times, count, o.intervalS);
      out[configKey(c)]!.push(r);
      line.push(`${configKey(c)} ${Number.isFinite(r.avgMs) ? r.avgMs.toFixed(3) : 'ERR'}`);
      if (p.error) o.log(`${configKey(c)} ×${count}: ${p.error}`);
    }
    o.log(`TCP echo ×${count} every ${o.intervalS} s, avg RTT (ms): ${line.join(', ')}`);
  }
  return out;
}

function pingShaped(times: number[], count: number, intervalS: number): PingRun {
  const n = times.length;
  const avg = n ? times.reduce((a, b) => a + b, 0) / n : Number.NaN;
  const mdev = n ? Math.sqrt(times.reduce((a, t) => a + (t - avg) ** 2, 0) / n) : Number.NaN;
  return {
    count,
    intervalS,
    transmitted: count,
    received: n,
    minMs: n ? Math.min(...times) : Number.NaN,
    avgMs: avg,
    maxMs: n ? Math.max(...times) : Number.NaN,
    mdevMs: mdev,
    medianMs: quantile(times, 0.5),
    p90Ms: quantile(times, 0.9),
  };
}

/** The packet counters of the stand-in's DNAT rules in `netns`, by the Service port they are for. */
export async function serviceDnatPackets(netns: string): Promise<Record<string, number>> {
  const r = await run('iptables-save', ['-c', '-t', 'nat'], { netns, allowFail: true });
  const out: Record<string, number> = {};
  for (const m of r.stdout.matchAll(/^\[(\d+):\d+\] -A KUBE-SEP-\S+ .*--comment "?([^"\s]+)"? .*-j DNAT/gm))
    out[m[2]!] = (out[m[2]!] ?? 0) + Number(m[1]);
  return out;
}
