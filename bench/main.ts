/**
 * `npm run bench` (scripts/bench.sh): N-Net's benchmark, one run, everything side by side —
 * the data path (throughput and RTT of N-Net's internal plug, the hybrid plug, a Flannel-style
 * kernel reference and the bare OVS limit, same host and across hosts; N-Net's pairs again through
 * a ClusterIP, bench/service.ts), CNI ADD/DEL latency with
 * where the time goes, then with warm pools on (bench/pools.ts): pooled ADD latency and the first
 * ping after it, churn with leak counts, 64 ADDs at once, next to Neutron's own ceiling; and
 * process cost. Writes docs/benchmarks/
 * results.json, results.md and the Figure 5/6 charts. Not part of the test suite.
 *
 *   node --import tsx bench/main.ts [--reps 3] [--seconds 3] [--counts 10,50,100,200,500]
 *     [--interval 0.01] [--cni-pods 50] [--churn 100] [--concurrency 8] [--process-runs 30]
 *     [--only datapath,cni,churn,process] [--out docs/benchmarks]
 *
 * Everything it makes is named nnb… and recorded under .lab/bench; it is all removed at the end
 * (and at the start, when an earlier run was interrupted).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { stepLog } from '../lab/steps.ts';
import { PLUGIN } from '../test/support/cni.ts';
import { ensureEnv, PROJECT_ROOT } from '../test/support/env.ts';
import { rttChart, throughputChart } from './charts.ts';
import {
  type Bench,
  harnessCall,
  leftoverRun,
  POD_NAMESPACE,
  type Runtime,
  setupBench,
  teardown,
} from './cluster.ts';
import {
  bindingPutMs,
  breakdown,
  churn,
  leaks,
  measureCniLatency,
  neutronCeiling,
  readPluginLog,
} from './cnilat.ts';
import {
  configKey,
  dialIp,
  measureRtt,
  measureThroughput,
  medianGbps,
  type PairConfig,
  PLACEMENTS,
  PLUGIN_SHORT,
  PLUGINS,
  waitConnected,
} from './datapath.ts';
import { measureGrowth } from './growth.ts';
import { loadSampler, machine } from './machine.ts';
import { barePod, cniPod, delCniPods, type Endpoint, flannelHosts, flannelPod } from './pods.ts';
import {
  BENCH_POOL,
  countOutcomes,
  measurePooled,
  NESTED_POOL,
  setPools,
  waitPoolReady,
  waitPoolsDrained,
} from './pools.ts';
import { measureFirstFetch, measureProcesses } from './process.ts';
import { computeTargets, markdown, type Results, serviceSummary } from './report.ts';
import {
  applyServices,
  benchServices,
  measureTcpRtt,
  removeServices,
  serviceConfigs,
  serviceDnatPackets,
  startEchoServers,
  waitTcpConnected,
} from './service.ts';
import { type BenchVm, startVms } from './vms.ts';

const { values: a } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    counts: { type: 'string', default: '10,50,100,200,500' },
    interval: { type: 'string', default: '0.01' },
    'cni-pods': { type: 'string', default: '50' },
    churn: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '8' },
    'ceiling-ports': { type: 'string', default: '40' },
    'process-runs': { type: 'string', default: '20' },
    // ADD/DEL rounds of nested-mode pods (a reserved-port pod and an ADD-creates pod each).
    'nested-pods': { type: 'string', default: '20' },
    // Pods resident on node 1 at each step of the growth measure ('' skips it).
    growth: { type: 'string', default: '10,100,300' },
    'growth-rounds': { type: 'string', default: '10' },
    only: { type: 'string', default: 'process,datapath,cni,nested,churn' },
    out: { type: 'string', default: join(PROJECT_ROOT, 'docs/benchmarks') },
    // Re-renders results.md and the charts from OUT/results.json, measuring nothing.
    rerender: { type: 'boolean', default: false },
  },
});
const int = (s: string, min: number) => Math.max(min, Math.floor(Number(s)) || min);
const only = new Set(a.only.split(','));
const settings = {
  reps: int(a.reps, 1),
  seconds: Math.min(30, int(a.seconds, 1)),
  pingCounts: a.counts.split(',').map((c) => int(c, 1)),
  pingIntervalS: Math.max(0.002, Number(a.interval) || 0.01),
  cniPods: Math.min(180, int(a['cni-pods'], 1)),
  churnPods: int(a.churn, 1),
  churnConcurrency: int(a.concurrency, 1),
  ceilingPorts: int(a['ceiling-ports'], 1),
  processRuns: int(a['process-runs'], 1),
  nestedPods: Math.min(180, int(a['nested-pods'], 1)),
  growthLevels: a.growth
    .split(',')
    .filter((x) => x.trim() !== '')
    .map((x) => int(x, 1))
    .sort((x, y) => x - y),
  growthRounds: int(a['growth-rounds'], 1),
  networkMtu: 0,
  store: 'etcd',
  datapathType: 'netdev' as const,
  podOrder: [] as string[],
};
const OUT = a.out;
/** The issue's "64 parallel ADDs" on one node. */
const PARALLEL_ADDS = 64;

const log = stepLog();
const load = loadSampler();
const t0 = Date.now();
const results: Results = {
  schema: 'nnet-bench/1',
  machine: machine(),
  settings,
  durationS: 0,
  load: { samples: [], byPhase: {} },
  targets: [],
  errors: [],
};

let bench: Bench | undefined;
/** Nested mode's VMs, one on each node (bench/vms.ts). */
let vms: [BenchVm, BenchVm] | undefined;
let tornDown = false;

function vmsOf(): [BenchVm, BenchVm] {
  if (!vms) throw new Error('the nested-mode VMs were not started');
  return vms;
}
async function cleanUp(): Promise<void> {
  if (tornDown) return;
  tornDown = true;
  load.phase('teardown');
  await log.step(
    'tear down: pods, Neutron resources, store, daemons (by PID), chassis, namespaces',
    async () => {
      for (const l of await teardown(bench?.store)) log.info(l);
    },
  );
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    console.error(`\n${sig}: cleaning up`);
    cleanUp().finally(() => process.exit(130));
  });
}

async function processCost(): Promise<void> {
  load.phase('process');
  const home = process.env.HOME ?? '/root';
  results.process = await log.step(`process cost: ${settings.processRuns} runs each`, async () => {
    const r = measureProcesses(
      [
        { label: 'node (empty script, reference)', argv: [process.execPath, '-e', '0'] },
        // node parsing the plugin's bundle without running it: what loading the code costs
        { label: 'nnet VERSION', argv: [PLUGIN], env: { CNI_COMMAND: 'VERSION' } },
        {
          label: 'kubenetctl version --client',
          argv: [join(PROJECT_ROOT, 'dist/kubenetctl.js'), 'version', '--client'],
          env: { HOME: home },
        },
        { label: 'kubectl version --client', argv: ['kubectl', 'version', '--client'], env: { HOME: home } },
      ],
      settings.processRuns,
    );
    for (const p of r)
      log.info(
        `${p.label}: wall p50 ${p.wallMs.p50.toFixed(1)} ms, peak RSS p50 ${p.peakRssMb.p50.toFixed(1)} MB`,
      );
    results.firstFetch = measureFirstFetch(`${ensureEnv().etcdUrl}/version`, settings.processRuns);
    log.info(
      `a node process's first fetch() ${results.firstFetch.firstMs.p50.toFixed(1)} ms, its second ${results.firstFetch.secondMs.p50.toFixed(1)} ms (p50)`,
    );
    return r;
  });
}

async function datapath(b: Bench): Promise<void> {
  load.phase('datapath setup');
  const [n1, n2] = b.nodes;
  const eps = await log.step(
    'data-path pods: N-Net and hybrid through libcni, bare limit by hand, Flannel-style',
    async () => {
      // On the userspace datapath a port's RTT depends on when it was added to br-int (measured:
      // swapping the order of the N-Net and bare pods swapped their RTT gap), so the OVS pods are
      // made in a balanced order: node 1 a-side N-Net, bare, hybrid; b-side the reverse.
      const make: Record<string, (side: 'a' | 'b' | 'c') => Promise<Endpoint>> = {
        nnet: (s) => cniPod(b, b.runtime(s === 'c' ? 2 : 1, 'internal'), `nnet-${s}`),
        hybrid: (s) => cniPod(b, b.runtime(s === 'c' ? 2 : 1, 'hybrid'), `hyb-${s}`),
        bare: (s) => barePod(b, s === 'c' ? n2 : n1, s),
      };
      const order: [string, 'a' | 'b' | 'c'][] = [
        ['nnet', 'a'],
        ['bare', 'a'],
        ['hybrid', 'a'],
        ['hybrid', 'b'],
        ['bare', 'b'],
        ['nnet', 'b'],
        ['bare', 'c'],
        ['hybrid', 'c'],
        ['nnet', 'c'],
      ];
      const made: Record<string, Endpoint> = {};
      for (const [p, side] of order) made[`${p}-${side}`] = await make[p]!(side);
      results.settings.podOrder = order.map(([p, side]) => `${p}-${side}`);
      const e: Record<string, [Endpoint, Endpoint, Endpoint]> = {};
      for (const p of ['nnet', 'hybrid', 'bare']) e[p] = [made[`${p}-a`]!, made[`${p}-b`]!, made[`${p}-c`]!];
      // Nested mode: two pods in the VM on node 1, one in the VM on node 2 (trunk subports).
      const [vm1, vm2] = vmsOf();
      e.nested = [
        await cniPod(b, vm1.runtime, 'nest-a'),
        await cniPod(b, vm1.runtime, 'nest-b'),
        await cniPod(b, vm2.runtime, 'nest-c'),
      ];
      const fl = await flannelHosts(b, settings.networkMtu);
      e.flannel = [
        await flannelPod(b, fl, 1, 2, 'a'),
        await flannelPod(b, fl, 1, 3, 'b'),
        await flannelPod(b, fl, 2, 2, 'c'),
      ];
      for (const [p, [x, y, z]] of Object.entries(e))
        log.info(`${p}: ${x.name} ${x.ip}, ${y.name} ${y.ip} on host 1; ${z.name} ${z.ip} on host 2`);
      return e;
    },
  );
  const all: PairConfig[] = PLUGINS.flatMap((p) => [
    { plugin: p, placement: 'same host' as const, client: eps[p]![0], server: eps[p]![1] },
    { plugin: p, placement: 'across hosts' as const, client: eps[p]![0], server: eps[p]![2] },
  ]);
  // Reference: the two nodes' underlay addresses (on br-phy), no geneve and no pod in between.
  all.push({
    plugin: 'underlay',
    placement: 'across hosts',
    client: { name: n1.name, netns: n1.netns, ip: n1.underlayIp },
    server: { name: n2.name, netns: n2.netns, ip: n2.underlayIp },
  });
  // The N-Net pairs again through a ClusterIP (the kube-proxy stand-in on both nodes).
  const svc = serviceConfigs(eps.nnet!);
  all.push(...svc);
  const stopEcho = await log.step(
    `Services (kube-proxy stand-in on both nodes): ${svc.map((c) => `${c.dial} → ${c.server.name} ${c.server.ip}`).join(', ')}; TCP echo servers in the N-Net server pods`,
    async () => {
      await applyServices(b, benchServices(svc));
      return startEchoServers(b, [eps.nnet![1], eps.nnet![2]]);
    },
  );
  try {
    await measurePairs(b, all);
    // Evidence that the Service pairs went through kube-proxy's DNAT: the stand-in's counters on node 1
    // (a nat rule sees the first packet of each connection only).
    const dnat = await serviceDnatPackets(n1.netns);
    if (results.datapath) results.datapath.serviceDnat = dnat;
    log.info(
      `connections DNATed on ${n1.name}: ${Object.entries(dnat)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  } finally {
    await stopEcho();
    await removeServices(b);
  }
  await log.step('CNI DEL of the data-path pods', async () => {
    const failed = await delCniPods(b);
    if (failed) results.errors.push(`${failed} data-path pods failed CNI DEL`);
  });
}

/** Connectivity, then throughput (every pair), ping RTT (not the Service pairs), TCP echo RTT (N-Net direct and Service). */
async function measurePairs(b: Bench, all: PairConfig[]): Promise<void> {
  const connected = await log.step('connectivity of every pair (warms ARP and the OVN flows)', async () => {
    const ok = new Set<string>();
    for (const c of all) {
      if (await (c.dial ? waitTcpConnected(c) : waitConnected(c))) ok.add(configKey(c));
      else results.errors.push(`${configKey(c)}: ${c.client.ip} cannot reach ${dialIp(c)}; not measured`);
    }
    log.info(`${ok.size}/${all.length} pairs answer`);
    return ok;
  });
  const configs = all.filter((c) => connected.has(configKey(c)));
  results.datapath = {
    pairs: all.map((c) => ({
      key: configKey(c),
      plugin: c.plugin,
      placement: c.placement,
      client: c.client,
      server: c.server,
      ...(c.dial ? { dial: c.dial } : {}),
      connected: connected.has(configKey(c)),
    })),
    throughput: {},
    rtt: {},
    tcpRtt: {},
  };
  load.phase('throughput');
  results.datapath.throughput = await log.step(
    `TCP throughput: iperf3 ${settings.seconds} s × ${settings.reps} reps × ${configs.length} pairs, interleaved`,
    () => measureThroughput(b, configs, { reps: settings.reps, seconds: settings.seconds, log: log.info }),
  );
  load.phase('rtt');
  const pingable = configs.filter((c) => !c.dial);
  results.datapath.rtt = await log.step(
    `RTT: ping ${settings.pingCounts.join('/')} packets every ${settings.pingIntervalS} s × ${pingable.length} pairs`,
    () =>
      measureRtt(pingable, { counts: settings.pingCounts, intervalS: settings.pingIntervalS, log: log.info }),
  );
  const echoed = configs.filter((c) => c.plugin === 'nnet' || c.plugin === 'nnet-svc');
  results.datapath.tcpRtt = await log.step(
    `RTT through TCP (ping cannot reach a ClusterIP): bench/tcp-echo.mjs ${settings.pingCounts.join('/')} requests every ${settings.pingIntervalS} s × ${echoed.length} pairs`,
    () =>
      measureTcpRtt(echoed, {
        counts: settings.pingCounts,
        intervalS: settings.pingIntervalS,
        log: log.info,
      }),
  );
  for (const pl of PLACEMENTS)
    log.info(
      `${pl}: ${PLUGINS.map((p) => `${p} ${medianGbps(results.datapath?.throughput[configKey({ plugin: p, placement: pl })]).toFixed(2)} Gbit/s`).join(', ')}`,
    );
  const sv = serviceSummary(results);
  for (const pl of PLACEMENTS)
    log.info(
      `Service ÷ direct, ${pl}: throughput ${sv.gbpsRatio[pl].toFixed(2)}×, TCP RTT ${sv.rttRatio[pl].toFixed(2)}× (mean), ${sv.rttMedianRatio[pl].toFixed(2)}× (median)`,
    );
}

/**
 * `rounds` rounds through `rt`, one at a time: a pod whose port was reserved beforehand, and a
 * pod whose port ADD creates, each ADD then DEL; each kind's wall times and where they went.
 */
async function latencyRounds(b: Bench, rt: Runtime, rounds: number, what: string) {
  const calls = await log.step(
    `${what}: ${rounds} rounds of (reserved-port pod, ADD-creates pod) on ${rt.node.name}, ADD then DEL`,
    () =>
      measureCniLatency(b, rt, {
        pods: rounds,
        log: log.info,
        onError: (e) => {
          results.errors.push(`${what} ${e}`);
          log.info(`error (round skipped): ${e}`);
        },
      }),
  );
  const logged = readPluginLog(rt.logFile);
  const bd: Record<string, ReturnType<typeof breakdown>> = {};
  for (const kind of ['reserved', 'created'] as const)
    for (const verb of ['ADD', 'DEL'] as const)
      bd[`${kind}/${verb}`] = breakdown(
        calls.filter((c) => c.kind === kind && c.verb === verb),
        logged,
      );
  for (const [k, v] of Object.entries(bd))
    log.info(
      `${k}: p50 ${v.wallMs.p50.toFixed(0)} p90 ${v.wallMs.p90.toFixed(0)} p99 ${v.wallMs.p99.toFixed(0)} ms; Neutron ${(v.share.neutron * 100).toFixed(0)}%, Keystone ${(v.share.keystone * 100).toFixed(0)}%, N-Net ${(v.share.nnetOwn * 100).toFixed(0)}%`,
    );
  const failed = calls.filter((c) => !c.ok);
  if (failed.length) results.errors.push(`${failed.length} ${what} calls failed, e.g. ${failed[0]!.error}`);
  return { calls, logged, breakdown: bd };
}

async function cni(b: Bench): Promise<void> {
  load.phase('cni latency');
  const rt = b.runtime(1, 'internal');
  const { calls, logged, breakdown: bd } = await latencyRounds(b, rt, settings.cniPods, 'CNI latency');
  // Keystone is asked only when a node's token cache has no valid token (the first call on each node).
  const keystoneAuths = b.nodes.flatMap((_, i) =>
    (['internal', 'hybrid'] as const).flatMap((d) =>
      [...readPluginLog(b.runtime((i + 1) as 1 | 2, d).logFile).values()]
        .filter((l) => l.keystoneCalls > 0)
        .map((l) => ({ node: b.nodes[i]!.name, command: l.command, keystoneMs: l.keystoneMs })),
    ),
  );
  results.cni = { calls, breakdown: bd, keystoneAuths, bindingPutMs: bindingPutMs(calls, logged) };
}

/** The DEL of a pooled round's ping target (an error is the run's, not a throw). */
async function delPingTarget(b: Bench, rt: Runtime, t: Endpoint & { containerId: string }): Promise<void> {
  const del = await harnessCall(rt, 'del', {
    name: t.name,
    namespace: POD_NAMESPACE,
    containerId: t.containerId,
    netns: t.netns,
  });
  if (del.code === 0) b.record.removePod(t.containerId);
  else results.errors.push(`CNI DEL of ${t.name} failed: ${del.stdout} ${del.stderr}`);
}

/**
 * Nested mode's CNI latency: the same rounds as cni() through the VM on node 1, where each ADD
 * also joins the VM's trunk and waits for the subport to be ACTIVE. Then with warm pools on: the
 * VM's agent keeps ready subports on its trunk, and a pooled ADD only makes the pod's NIC.
 */
async function nestedPhase(b: Bench): Promise<void> {
  load.phase('nested latency');
  const [vm1, vm2] = vmsOf();
  const rt = vm1.runtime;
  const r = await latencyRounds(b, rt, settings.nestedPods, 'nested CNI latency');
  results.nested = { vm: rt.node.name, calls: r.calls, breakdown: r.breakdown };

  load.phase('nested pools');
  const pool = NESTED_POOL;
  await setPools(b, pool);
  let target: (Endpoint & { containerId: string }) | undefined;
  try {
    const fillS = await log.step(
      `pools on (min ${pool.min}, max ${pool.max}, batch ${pool.batch}); ${vm1.name}'s agent fills its pool with subports of its trunk`,
      () => waitPoolReady(b, rt.node.name, pool.min),
    );
    const ep = await cniPod(b, vm2.runtime, 'nested-ping-target');
    target = { ...ep, containerId: b.record.data.pods.at(-1)!.containerId };
    const pooled = await log.step(
      `pooled nested ADD: ${settings.nestedPods} rounds of a pod without a static IP in ${vm1.name}: ADD, one ping to ${ep.name} (${ep.ip}, in ${vm2.name}) right after, DEL`,
      () => measurePooled(b, rt, { pods: settings.nestedPods, target: ep, log: log.info }),
    );
    const add = breakdown(
      pooled.calls.filter((c) => c.verb === 'ADD'),
      readPluginLog(rt.logFile),
    );
    log.info(
      `pooled nested ADD p50 ${add.wallMs.p50.toFixed(0)} p99 ${add.wallMs.p99.toFixed(0)} ms; ${pooled.hits} hits, ${pooled.misses} misses; first pings lost ${pooled.firstPing.lost}/${pooled.firstPing.sent}`,
    );
    if (pooled.misses > 0) results.errors.push(`${pooled.misses} pooled nested ADDs missed the pool`);
    results.nested.pooled = { settings: pool, fillS, ...pooled, breakdown: { 'pooled/ADD': add } };
  } finally {
    if (target) await delPingTarget(b, vm2.runtime, target);
    await setPools(b, undefined);
    await waitPoolsDrained(b, [rt.node.name, vm2.runtime.node.name]);
  }
}

/**
 * Warm pools on: pooled ADD latency with the first ping after each ADD, churn (its ADDs take pool
 * ports), 64 ADDs at once, and what Neutron alone sustains next to it. Pools off again at the end.
 */
async function churnPhase(b: Bench): Promise<void> {
  // Neutron's own ceiling first, while no pool refills or drains compete with it.
  load.phase('ceiling');
  const ceiling = await log.step(
    `Neutron alone: ${settings.ceilingPorts} ports created (bound) and deleted, ${settings.churnConcurrency} at a time, no plugin`,
    () =>
      neutronCeiling(b, {
        ports: settings.ceilingPorts,
        concurrency: settings.churnConcurrency,
        node: b.nodes[0].name,
      }),
  );
  log.info(
    `${ceiling.perS.toFixed(2)} create+delete/s; POST p50 ${ceiling.create.p50.toFixed(0)} ms, DELETE p50 ${ceiling.del.p50.toFixed(0)} ms`,
  );

  load.phase('pools');
  const rt = b.runtime(1, 'internal');
  const node = b.nodes[0].name;
  const pool = BENCH_POOL;
  await setPools(b, pool);
  let target: (Endpoint & { containerId: string }) | undefined;
  // The ping target goes before the churn, whose leak count would see it.
  const delTarget = async () => {
    if (!target) return;
    const t = target;
    target = undefined;
    await delPingTarget(b, b.runtime(2, 'internal'), t);
  };
  try {
    const fillS = await log.step(
      `pools on (min ${pool.min}, max ${pool.max}, batch ${pool.batch}); ${node}'s agent fills its pool`,
      () => waitPoolReady(b, node, pool.min),
    );
    log.info(`${pool.min} ports ready on ${node} after ${fillS.toFixed(1)} s`);
    const ep = await cniPod(b, b.runtime(2, 'internal'), 'ping-target');
    target = { ...ep, containerId: b.record.data.pods.at(-1)!.containerId };
    const pooled = await log
      .step(
        `pooled ADD: ${settings.cniPods} rounds of a pod without a static IP on ${node}: ADD, one ping to ${ep.name} (${ep.ip}, node 2) right after, DEL`,
        () => measurePooled(b, rt, { pods: settings.cniPods, target: ep, log: log.info }),
      )
      .finally(() => delTarget());
    const logged = readPluginLog(rt.logFile);
    const bd = {
      'pooled/ADD': breakdown(
        pooled.calls.filter((c) => c.verb === 'ADD'),
        logged,
      ),
      'pooled/DEL': breakdown(
        pooled.calls.filter((c) => c.verb === 'DEL'),
        logged,
      ),
    };
    log.info(
      `pooled ADD p50 ${bd['pooled/ADD'].wallMs.p50.toFixed(0)} p99 ${bd['pooled/ADD'].wallMs.p99.toFixed(0)} ms; ${pooled.hits} hits, ${pooled.misses} misses; first pings lost ${pooled.firstPing.lost}/${pooled.firstPing.sent}`,
    );
    results.pools = { settings: pool, fillS, ...pooled, breakdown: bd };

    load.phase('churn');
    const r = await log.step(
      `churn: ${settings.churnPods} pods, ${settings.churnConcurrency} at a time, ADD then DEL each (pool ports)`,
      () =>
        churn(b, rt, {
          pods: settings.churnPods,
          concurrency: settings.churnConcurrency,
          kind: 'pooled',
          log: log.info,
        }),
    );
    const churnBd = breakdown(
      r.calls.filter((c) => c.verb === 'ADD'),
      readPluginLog(rt.logFile),
    );
    const l = r.leaks;
    log.info(
      `${r.podsPerS.toFixed(2)} pods/s; ${r.failed.length} failed calls; left: ${l.neutronPorts.length} Neutron ports not in the pool, ${l.ovsPorts.length} OVS ports, ${l.hostLinks.length} host links, ${l.attachments.length} attachments, ${l.podConfigs.length} pod configs`,
    );
    if (r.failed.length)
      results.errors.push(
        `${r.failed.length} churn calls failed, e.g. ${r.failed[0]!.verb}: ${r.failed[0]!.error}`,
      );
    const outcomes = countOutcomes(rt.logFile, r.calls);
    log.info(
      `churn ADDs: ${outcomes.hits} pool hits, ${outcomes.misses} misses, ${outcomes.claimTimeouts} answered after OVN's claim wait ran out`,
    );
    results.churn = { ...r, ...outcomes, breakdown: churnBd, neutronCeiling: ceiling };

    load.phase('parallel');
    const par = await log.step(`${PARALLEL_ADDS} ADDs at once on ${node}, then each pod's DEL`, () =>
      churn(b, rt, {
        pods: PARALLEL_ADDS,
        concurrency: PARALLEL_ADDS,
        kind: 'pooled',
        name: 'par',
        log: log.info,
      }),
    );
    const parAdds = par.calls.filter((c) => c.verb === 'ADD');
    results.parallel = {
      pods: PARALLEL_ADDS,
      ok: parAdds.filter((c) => c.ok).length,
      totalS: par.totalS,
      add: par.add,
      failed: par.failed,
    };
    log.info(
      `${results.parallel.ok}/${PARALLEL_ADDS} ADDs succeeded; ADD p50 ${par.add.p50.toFixed(0)} ms, max ${par.add.max.toFixed(0)} ms`,
    );

    if (settings.growthLevels.length > 0) {
      load.phase('growth');
      results.growth = await log.step(
        `growth: ${settings.growthLevels.join(', ')} pods resident on ${node}; at each, ${settings.growthRounds} pooled ADD+DEL rounds and the agent's next reconcile`,
        () =>
          measureGrowth(b, rt, {
            levels: settings.growthLevels,
            rounds: settings.growthRounds,
            concurrency: settings.churnConcurrency,
            agent: b.agents[0],
            reconcileDeadlineMs: 5 * 60_000,
            waitPoolReady: () => waitPoolReady(b, node, pool.min),
            log: log.info,
          }),
      );
    }
  } finally {
    await delTarget();
    await setPools(b, undefined);
  }
  // With the pools drained, whatever N-Net port is left on the nodes and in Neutron is a leak.
  await log.step('pools off: the agents drain them', () => waitPoolsDrained(b));
  if (results.churn) {
    results.churn.leaks = await leaks(b);
    const l = results.churn.leaks;
    log.info(
      `left after churn, 64 at once and the drain: ${l.neutronPorts.length} Neutron ports, ${l.ovsPorts.length} OVS ports, ${l.hostLinks.length} host links, ${l.attachments.length} attachments, ${l.podConfigs.length} pod configs`,
    );
  }
}

async function write(): Promise<void> {
  results.durationS = (Date.now() - t0) / 1000;
  results.load = { samples: load.stop(), byPhase: load.byPhase() };
  results.targets = computeTargets(results);
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  await render(results);
}

async function render(results: Results): Promise<void> {
  const settings = results.settings;
  const sub = `${results.machine.cpuModel.replace(/\s+/g, ' ')}, ${results.machine.cores} cores; OVS in user space (no kernel module), Flannel-style in the kernel; ${results.machine.date.slice(0, 10)}`;
  if (results.datapath) {
    const s = results.datapath;
    const plugins = PLUGINS.map((id) => ({ id, label: PLUGIN_SHORT[id] }));
    const gbps: Record<string, [number, number]> = {};
    const same: Record<string, number[]> = {};
    const across: Record<string, number[]> = {};
    for (const p of PLUGINS) {
      gbps[p] = [
        medianGbps(s.throughput[configKey({ plugin: p, placement: 'same host' })]),
        medianGbps(s.throughput[configKey({ plugin: p, placement: 'across hosts' })]),
      ];
      const per = (pl: 'same host' | 'across hosts') =>
        settings.pingCounts.map(
          (c) =>
            s.rtt[configKey({ plugin: p, placement: pl })]?.find((x) => x.count === c)?.avgMs ?? Number.NaN,
        );
      same[p] = per('same host');
      across[p] = per('across hosts');
    }
    const sv = s.tcpRtt ? serviceSummary(results) : undefined;
    const withService = sv
      ? {
          // right after N-Net's own bars
          plugins: [
            plugins[0]!,
            { id: 'nnet-svc' as const, label: 'N-Net via ClusterIP' },
            ...plugins.slice(1),
          ],
          gbps: {
            ...gbps,
            'nnet-svc': [sv.gbps['same host'].service, sv.gbps['across hosts'].service] as [number, number],
          },
        }
      : { plugins, gbps };
    await throughputChart(withService, OUT, sub);
    await rttChart({ plugins, counts: settings.pingCounts, same, across }, OUT, sub);
  }
  writeFileSync(join(OUT, 'results.md'), markdown(results));
}

if (a.rerender) {
  const r = JSON.parse(readFileSync(join(OUT, 'results.json'), 'utf8')) as Results;
  r.targets = computeTargets(r);
  await render(r);
  console.log(`re-rendered ${join(OUT, 'results.md')} and the charts`);
  process.exit(0);
}

try {
  console.log('N-Net benchmark: data path (Figures 5, 6), CNI latency, churn, process cost\n');
  if (leftoverRun())
    await log.step('remove what an interrupted earlier run left', async () => {
      for (const l of await teardown()) log.info(l);
    });
  if (only.has('process')) await processCost();
  if (['datapath', 'cni', 'nested', 'churn'].some((p) => only.has(p))) {
    load.phase('setup');
    bench = await log.step(
      'two lab nodes, a Neutron network, the cluster in etcd, nnet conflists (internal, hybrid)',
      () => setupBench(log.info),
    );
    settings.networkMtu = bench.network.mtu ?? 1500;
    if (only.has('datapath') || only.has('nested')) {
      const b = bench;
      vms = await log.step(
        'nested mode: a VM on each node (its own OVS, its NIC a Neutron trunk parent port), nnet with plugDriver vlan and an agent in each',
        () => startVms(b, log.info),
      );
    }
    // A phase that fails (e.g. Neutron restarted by other work) is reported; the others still run.
    const phases: [string, (b: Bench) => Promise<void>][] = [
      ['datapath', datapath],
      ['cni', cni],
      ['nested', nestedPhase],
      ['churn', churnPhase],
    ];
    for (const [name, fn] of phases) {
      if (!only.has(name)) continue;
      try {
        await fn(bench);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        results.errors.push(`${name} phase aborted: ${msg}`);
        console.error(`${name} phase failed: ${msg}`);
        process.exitCode = 1;
      }
    }
  }
} catch (e) {
  const msg = e instanceof Error ? e.message : String(e);
  results.errors.push(`run aborted: ${msg}`);
  console.error(`bench failed: ${msg}`);
  process.exitCode = 1;
} finally {
  await cleanUp().catch((e) => {
    results.errors.push(`teardown: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  });
  await write();
  console.log(
    `\nResults: ${relative(process.cwd(), join(OUT, 'results.md'))} (+ results.json, fig5-throughput.png, fig6-rtt.png)`,
  );
  for (const t of results.targets)
    console.log(
      `  ${t.met === null ? '?' : t.met ? 'met   ' : 'MISSED'} ${t.what}: ${t.value ?? '–'}${t.unit === '×' ? '×' : ` ${t.unit}`}${t.miss ? ` (${t.miss})` : ''}`,
    );
  console.log(`${log.elapsedS().toFixed(0)} s in all`);
}
