/**
 * Data-plane benchmark (not a test): internal vs hybrid plug on one userspace OVS bridge.
 *
 *   node --import tsx bench/dataplane.ts [--reps 3] [--seconds 5] [--plugs 50]
 *   node --import tsx bench/dataplane.ts --choices     # the measurements behind src/plug/README.md
 *
 * Starts its own OVS node (test/support/ovs-node.ts) and pods (netns `nntp-…`), measures iperf3 TCP
 * throughput (median of --reps runs, interleaved), ping RTT and plug latency (p50 over --plugs),
 * prints a table with internal ÷ hybrid ratios, and removes everything it created.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  type PlugDriver,
  type PlugSettings,
  type PlugSpec,
  parsePlugSpec,
  plug,
  unplug,
} from '../src/plug/index.ts';
import { createNetns, type TestNetns } from '../test/support/netns.ts';
import { type OvsNode, startOvsNode } from '../test/support/ovs-node.ts';

const { values: args } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    plugs: { type: 'string', default: '50' },
    choices: { type: 'boolean', default: false },
  },
});
const REPS = Math.max(1, Number(args.reps));
const SECONDS = Math.min(30, Math.max(1, Number(args.seconds)));
const PLUGS = Math.max(1, Number(args.plugs));

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');

let host = 10;
function podSpec(pod: TestNetns): PlugSpec {
  const h = host++;
  return parsePlugSpec({
    portId: randomUUID(),
    mac: `0a:58:0a:60:${(h >> 8).toString(16).padStart(2, '0')}:${(h & 255).toString(16).padStart(2, '0')}`,
    ips: [{ address: `10.96.${h >> 8}.${h & 255}`, prefixLength: 16 }],
    routes: [{ dst: '0.0.0.0/0', gateway: '10.96.0.1' }],
    mtu: 1500,
    netns: pod.path,
    ifname: 'eth0',
  });
}

interface Pod {
  ns: TestNetns;
  spec: PlugSpec;
}

async function plugPod(settings: PlugSettings, pods: TestNetns[]): Promise<Pod> {
  const ns = createNetns('nntp');
  pods.push(ns);
  const spec = podSpec(ns);
  await plug(settings, spec);
  return { ns, spec };
}

function rtt(a: Pod, b: Pod): number {
  const r = a.ns.run(['ping', '-q', '-c', '25', '-i', '0.2', '-W', '1', b.spec.ips[0]!.address], {
    timeoutMs: 30_000,
  });
  const m = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  return m ? Number(m[1]) : Number.NaN;
}

async function iperf(a: Pod, b: Pod): Promise<number> {
  const dst = b.spec.ips[0]!.address;
  const server: ChildProcess = b.ns.spawn(['iperf3', '-s', '-1', '-B', dst]);
  try {
    for (let i = 0; i < 30; i++) {
      await sleep(100);
      const r = a.ns.run(
        ['timeout', String(SECONDS + 15), 'iperf3', '-c', dst, '-t', String(SECONDS), '-J'],
        {
          timeoutMs: (SECONDS + 20) * 1000,
        },
      );
      if (r.code === 0) return JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9;
      if (!/connect|refused/i.test(r.stdout + r.stderr)) return Number.NaN;
    }
    return Number.NaN;
  } finally {
    if (server.exitCode === null && server.pid) server.kill();
  }
}

async function plugLatency(
  settings: PlugSettings,
  pods: TestNetns[],
): Promise<{ plug: number; unplug: number }> {
  const ns = createNetns('nntp');
  pods.push(ns);
  const p: number[] = [];
  const u: number[] = [];
  for (let i = 0; i < PLUGS; i++) {
    const spec = podSpec(ns);
    let t = performance.now();
    await plug(settings, spec);
    p.push(performance.now() - t);
    t = performance.now();
    await unplug(settings, spec);
    u.push(performance.now() - t);
  }
  return { plug: median(p), unplug: median(u) };
}

async function dataplane(node: OvsNode, pods: TestNetns[]): Promise<void> {
  const drivers: PlugDriver[] = ['internal', 'hybrid'];
  const pairs: Record<string, [Pod, Pod]> = {};
  for (const d of drivers) {
    const s = node.plugSettings({ driver: d });
    pairs[d] = [await plugPod(s, pods), await plugPod(s, pods)];
  }
  const runs: Record<string, number[]> = { internal: [], hybrid: [] };
  const rtts: Record<string, number> = {};
  for (const d of drivers) rtts[d] = rtt(...pairs[d]!); // also warms ARP / flows
  for (let i = 0; i < REPS; i++) for (const d of drivers) runs[d]!.push(await iperf(...pairs[d]!)); // interleaved
  const lat: Record<string, { plug: number; unplug: number }> = {};
  for (const d of drivers) lat[d] = await plugLatency(node.plugSettings({ driver: d }), pods);

  const tput = (d: string) => median(runs[d]!);
  const rows: [string, string, string, string][] = [
    [
      'TCP throughput, Gbit/s (median)',
      fmt(tput('internal')),
      fmt(tput('hybrid')),
      fmt(tput('internal') / tput('hybrid')),
    ],
    ['  runs', runs.internal!.map((x) => fmt(x)).join(' '), runs.hybrid!.map((x) => fmt(x)).join(' '), ''],
    [
      'ping RTT avg, ms (25 pings, 0.2 s apart)',
      fmt(rtts.internal!, 3),
      fmt(rtts.hybrid!, 3),
      fmt(rtts.internal! / rtts.hybrid!),
    ],
    [
      `plug p50, ms (${PLUGS} plugs)`,
      fmt(lat.internal!.plug, 1),
      fmt(lat.hybrid!.plug, 1),
      fmt(lat.internal!.plug / lat.hybrid!.plug),
    ],
    [
      `unplug p50, ms (${PLUGS})`,
      fmt(lat.internal!.unplug, 1),
      fmt(lat.hybrid!.unplug, 1),
      fmt(lat.internal!.unplug / lat.hybrid!.unplug),
    ],
  ];
  console.log(`# data plane, same bridge (netdev), ${SECONDS}s iperf3 × ${REPS}, load ${loadavg()}`);
  printTable(['metric', 'internal', 'hybrid', 'internal ÷ hybrid'], rows);
}

// ---------------------------------------------------------------- --choices
function timeSpawn(argv: string[], input?: string): number {
  const t = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { input, encoding: 'utf8' });
  const dt = performance.now() - t;
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return dt;
}
const p50 = (n: number, fn: () => number) => median(Array.from({ length: n }, fn));
async function p50Async(n: number, fn: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(await fn());
  return median(xs);
}

async function choices(node: OvsNode, pods: TestNetns[]): Promise<void> {
  const pod = createNetns('nntp');
  pods.push(pod);
  pod.exec(['ip', 'link', 'add', 'nntpc0', 'type', 'veth', 'peer', 'name', 'nntpc1']);
  const N = 40;
  const nsenter = ['nsenter', `--net=${pod.path}`];
  const toggle = (i: number) => `link set dev nntpc0 alias nntp-${i}\n`;
  const batch = (k: number) => Array.from({ length: k }, (_, i) => toggle(i)).join('');
  const rows: [string, string][] = [];
  rows.push([
    'ip link show lo (current netns: process cost)',
    fmt(p50(N, () => timeSpawn(['ip', 'link', 'show', 'lo']))),
  ]);
  rows.push([
    'ip -n NAME link show lo',
    fmt(p50(N, () => timeSpawn(['ip', '-n', pod.name, 'link', 'show', 'lo']))),
  ]);
  rows.push([
    'nsenter --net=PATH ip link show lo',
    fmt(p50(N, () => timeSpawn([...nsenter, 'ip', 'link', 'show', 'lo']))),
  ]);
  const b1 = p50(N, () => timeSpawn([...nsenter, 'ip', '-batch', '-'], batch(1)));
  const b8 = p50(N, () => timeSpawn([...nsenter, 'ip', '-batch', '-'], batch(8)));
  const b64 = p50(N, () => timeSpawn([...nsenter, 'ip', '-batch', '-'], batch(64)));
  rows.push(['nsenter ip -batch, 8 commands, one process', fmt(b8)]);
  rows.push([
    'ip -n NAME -batch, 8 commands, one process',
    fmt(p50(N, () => timeSpawn(['ip', '-n', pod.name, '-batch', '-'], batch(8)))),
  ]);
  rows.push([
    '8 commands, 8 × nsenter ip',
    fmt(
      p50(10, () =>
        Array.from({ length: 8 }, (_, i) =>
          timeSpawn([...nsenter, 'ip', ...toggle(i).trim().split(' ')]),
        ).reduce((a, b) => a + b),
      ),
    ),
  ]);
  rows.push([
    '8 commands, 8 × ip -n NAME',
    fmt(
      p50(10, () =>
        Array.from({ length: 8 }, (_, i) =>
          timeSpawn(['ip', '-n', pod.name, ...toggle(i).trim().split(' ')]),
        ).reduce((a, b) => a + b),
      ),
    ),
  ]);
  rows.push([
    'netlink op inside a batch, (t64 − t1) / 63 (≈ cost with an in-process setns addon)',
    fmt((b64 - b1) / 63, 3),
  ]);
  // The kernel's own cost of moving a device between namespaces (dev_change_net_namespace waits
  // for RCU): a plug pays it once, whatever tool asks for it.
  const other = createNetns('nntp');
  pods.push(other);
  const moveBatch = (to: string) => `link set dev nntpc1 netns ${to}\n`;
  const moves: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    spawnSync('ip', ['-n', pod.name, '-batch', '-'], { input: moveBatch(other.path) });
    const t2 = performance.now();
    spawnSync('ip', ['-n', other.name, '-batch', '-'], { input: moveBatch(pod.path) });
    moves.push(t2 - t, performance.now() - t2);
  }
  rows.push(['move a device to another netns (one ip -n NAME -batch process)', fmt(median(moves))]);

  // OVSDB: add + delete an internal port, waiting for ovs-vswitchd each time (like a plug does).
  const s = node.plugSettings();
  const { OvsdbClient } = await import('../src/plug/ovsdb.ts');
  const { deletePorts, ensurePort } = await import('../src/plug/ovs.ts');
  const vsctl = ['ovs-vsctl', `--db=unix:${node.ovsdbSocket}`];
  const ids =
    'external_ids:iface-id=x external_ids:attached-mac=0a:00:00:00:00:01 external_ids:iface-status=active external_ids:nnet-driver=internal'.split(
      ' ',
    );
  const addV: number[] = [];
  const delV: number[] = [];
  for (let i = 0; i < N; i++) {
    addV.push(
      timeSpawn([
        ...vsctl,
        '--',
        'add-port',
        'br-int',
        'nntpbench',
        '--',
        'set',
        'interface',
        'nntpbench',
        'type=internal',
        ...ids,
      ]),
    );
    delV.push(timeSpawn([...vsctl, 'del-port', 'br-int', 'nntpbench']));
  }
  const addJ = await p50Async(N, async () => {
    const t = performance.now();
    const c = await OvsdbClient.connect(s.ovsdbSocket);
    await ensurePort(c, s, {
      name: 'nntpbench',
      type: 'internal',
      externalIds: { 'iface-id': 'x', 'nnet-driver': 'internal' },
    });
    c.close();
    const dt = performance.now() - t;
    const c2 = await OvsdbClient.connect(s.ovsdbSocket);
    await deletePorts(c2, s, ['nntpbench']);
    c2.close();
    return dt;
  });
  const delJ = await p50Async(N, async () => {
    const c = await OvsdbClient.connect(s.ovsdbSocket);
    await ensurePort(c, s, { name: 'nntpbench', type: 'internal', externalIds: { 'iface-id': 'x' } });
    c.close();
    const t = performance.now();
    const c2 = await OvsdbClient.connect(s.ovsdbSocket);
    await deletePorts(c2, s, ['nntpbench']);
    c2.close();
    return performance.now() - t;
  });
  rows.push(['OVSDB add internal port + wait for vswitchd: ovs-vsctl', fmt(median(addV))]);
  rows.push([
    'OVSDB add internal port + wait for vswitchd: JSON-RPC (connect, ensurePort, close)',
    fmt(addJ),
  ]);
  rows.push(['OVSDB delete port + wait: ovs-vsctl del-port', fmt(median(delV))]);
  rows.push(['OVSDB delete port + wait: JSON-RPC (connect, deletePorts, close)', fmt(delJ)]);
  console.log(`# choices: p50 in ms (N=${N}), load ${loadavg()}`);
  printTable(['operation', 'ms'], rows);
}

// ---------------------------------------------------------------- main
function loadavg(): string {
  return spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ');
}

function printTable(head: string[], rows: string[][]): void {
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (c ?? '').padEnd(w[i]!)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

const pods: TestNetns[] = [];
let node: OvsNode | undefined;
const cleanup = async () => {
  for (const p of pods) p.remove();
  await node?.stop();
};
process.on('SIGINT', () => {
  cleanup().finally(() => process.exit(130));
});
try {
  node = await startOvsNode({ name: `nntp-bench${randomBytes(2).toString('hex')}` });
  if (args.choices) await choices(node, pods);
  else await dataplane(node, pods);
} finally {
  await cleanup();
}
