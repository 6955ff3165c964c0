/**
 * The benchmark's cluster: two lab nodes (lab/nodes.ts: netns + ovsdb-server + ovs-vswitchd +
 * ovn-controller each, geneve underlay), a Neutron network and subnet of its own, the cluster
 * registered in an etcd store (as kubenetctl does), and on each node two libcni runtimes with the
 * built `nnet` plugin: one conflist with `plugDriver: internal`, one with `plugDriver: hybrid`.
 * `nnet` is a thin client: each node runs one `nnet-agent` (test/support/agent.ts) that serves
 * both conflists' CNI calls on the node's socket; its PID is in the state file, so teardown()
 * stops it, also one an interrupted run left.
 * The first ADD on a node gives it its own port on the network (the Service path goes through it).
 * teardown() removes all of it, also what an interrupted earlier run left.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLabNodes, type LabNode, teardownNodes } from '../lab/nodes.ts';
import { run, SYSTEM_PATH, stopPid } from '../lab/sh.ts';
import { StateFile } from '../lab/state.ts';
import type { Network, NeutronClient, Subnet } from '../src/neutron/index.ts';
import type { PlugDriver } from '../src/plug/index.ts';
import { releaseClusterNodes } from '../src/resources/index.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { startAgent, type TestAgent } from '../test/support/agent.ts';
import { adminNeutron, registerAdminCluster } from '../test/support/cluster.ts';
import { HARNESS, PLUGIN } from '../test/support/cni.ts';
import { ensureEnv, PROJECT_ROOT, type TestEnv } from '../test/support/env.ts';
import { type BenchPod, BenchRecord } from './record.ts';

export const PREFIX = 'nnb';
export const BENCH_DIR = join(PROJECT_ROOT, '.lab/bench');
export const UNDERLAY = '100.64.9';
export const POD_NAMESPACE = 'bench';
export const CIDR = '10.77.0.0/16';

/** What a runtime needs of its node: a lab node, or a nested-mode VM (bench/vms.ts). */
export type RuntimeNode = Pick<LabNode, 'name' | 'netns' | 'ovsdbSocket'>;

export interface Runtime {
  node: RuntimeNode;
  driver: PlugDriver;
  /** net.d/, bin/nnet (a copy of dist/nnet), cache/ */
  dir: string;
  conflist: string;
  /** The plugin's log: the node's agent writes it, as it runs the plugin's code. */
  logFile: string;
}

/** The label of a node's agent in the state file's PIDs. */
const AGENT_LABEL = '-nnet-agent';

export interface Bench {
  env: TestEnv;
  tag: string;
  cluster: string;
  /** The cluster's etcd prefix (the store every runtime's conflist names). */
  storePrefix: string;
  state: StateFile;
  record: BenchRecord;
  nodes: [LabNode, LabNode];
  admin: NeutronClient;
  store: Store;
  network: Network;
  subnet: Subnet;
  /** Each node's nnet-agent, serving both of the node's runtimes. */
  agents: [TestAgent, TestAgent];
  runtime(node: 1 | 2, driver: PlugDriver): Runtime;
}

export interface CallResult {
  code: number;
  wallMs: number;
  json: Record<string, unknown> | undefined;
  stdout: string;
  stderr: string;
}

/** One libcni call through the harness, timed from spawn to exit (what the kubelet would wait). */
export function harnessCall(
  rt: Pick<Runtime, 'dir'>,
  verb: 'add' | 'del',
  pod: Pick<BenchPod, 'containerId' | 'netns' | 'name' | 'namespace'>,
): Promise<CallResult> {
  const argv = [
    `-confdir=${join(rt.dir, 'net.d')}`,
    `-bindir=${join(rt.dir, 'bin')}`,
    `-cachedir=${join(rt.dir, 'cache')}`,
    `-id=${pod.containerId}`,
    `-netns=/run/netns/${pod.netns}`,
    '-ifname=eth0',
    `-args=K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name}`,
    // The kubelet's default --runtime-request-timeout; the plugin's own deadline (timeouts.totalMs, 100 s) is inside it.
    '-timeout=120s',
    verb,
  ];
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(HARNESS, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: SYSTEM_PATH } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', (e) => {
      stderr += String(e);
    });
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout.trim() ? JSON.parse(stdout) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? 1, wallMs, json, stdout, stderr });
    });
  });
}

/** Creates netns `name` (recorded for teardown) with lo up. */
export async function addNetns(b: Pick<Bench, 'state'>, name: string): Promise<void> {
  if (!name.startsWith(PREFIX)) throw new Error(`netns ${name} does not carry the prefix ${PREFIX}`);
  await run('ip', ['netns', 'add', name]);
  b.state.update((s) => {
    s.netns.push(name);
  });
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

export async function delNetns(b: Pick<Bench, 'state'>, name: string): Promise<void> {
  await run('ip', ['netns', 'del', name], { allowFail: true });
  b.state.update((s) => {
    s.netns = s.netns.filter((n) => n !== name);
  });
}

const storeUrl = (env: TestEnv, prefix: string) => `etcd:${env.etcdUrl}?prefix=${prefix}`;

/** The node's agent CNI socket; also the marker that identifies the agent's PID. */
const agentSocket = (node: Pick<LabNode, 'name'>) => join(BENCH_DIR, node.name, 'agent', 'cni.sock');

/** Starts the node's nnet-agent on the runtime's conflist; its PID is recorded before it is up. */
export async function startNodeAgent(state: StateFile, rt: Runtime): Promise<TestAgent> {
  const socket = agentSocket(rt.node);
  return startAgent({
    conflist: rt.conflist,
    socket,
    logFile: join(BENCH_DIR, rt.node.name, 'nnet-agent.log'),
    // Often enough that the growth measure (bench/growth.ts) sees a reconcile at each level soon.
    args: ['--reconcile-interval', '15s'],
    onSpawn: (pid) =>
      state.update((s) => {
        s.pids.push({ label: `${rt.node.name}${AGENT_LABEL}`, pid, marker: socket });
      }),
  });
}

/** Stops the recorded agents by PID (SIGTERM, SIGKILL after 20 s), before the network and nodes go. */
async function stopAgents(state: StateFile): Promise<string[]> {
  const done: string[] = [];
  for (const p of state.state.pids.filter((x) => x.label.endsWith(AGENT_LABEL))) {
    if (await stopPid(p.pid, p.marker, { graceMs: 20_000 })) done.push(`stopped ${p.label} (pid ${p.pid})`);
    state.update((s) => {
      s.pids = s.pids.filter((x) => x.pid !== p.pid);
    });
  }
  return done;
}

export function installRuntime(
  b: { cluster: string; env: TestEnv; storePrefix: string },
  node: RuntimeNode,
  driver: PlugDriver,
  extra: Record<string, unknown> = {},
): Runtime {
  const dir = join(BENCH_DIR, node.name, `cni-${driver}`);
  for (const d of ['bin', 'net.d', 'cache']) mkdirSync(join(dir, d), { recursive: true });
  // A copy: a rebuild of dist/ by someone else mid-run must not change what is measured.
  copyFileSync(PLUGIN, join(dir, 'bin/nnet'));
  const logFile = join(BENCH_DIR, node.name, `nnet-${driver}.log`);
  const conflist = {
    cniVersion: '1.0.0',
    name: `${PREFIX}-${driver}`,
    plugins: [
      {
        type: 'nnet',
        capabilities: { ips: true, mac: true },
        store: storeUrl(b.env, b.storePrefix),
        cluster: b.cluster,
        nodeName: node.name,
        ovsdbSocket: node.ovsdbSocket,
        ovsNetns: node.netns,
        agentSocket: agentSocket(node),
        datapathType: 'netdev',
        plugDriver: driver,
        logFile,
        // debug: the Neutron and Keystone call durations the ADD breakdown is made of
        logLevel: 'debug',
        tokenCacheDir: join(BENCH_DIR, node.name, 'tokens'),
        ...extra,
      },
    ],
  };
  const file = join(dir, 'net.d/10-nnet.conflist');
  writeFileSync(file, `${JSON.stringify(conflist, null, 2)}\n`);
  return { node, driver, dir, conflist: file, logFile };
}

export async function setupBench(log: (l: string) => void): Promise<Bench> {
  const env = ensureEnv();
  const tag = randomBytes(2).toString('hex');
  const cluster = `${PREFIX}-${tag}`;
  const state = new StateFile(BENCH_DIR);
  const record = new BenchRecord(BENCH_DIR);
  const storePrefix = `/${cluster}`;
  record.update((d) => {
    d.etcdUrl = env.etcdUrl;
    d.storePrefix = storePrefix;
    d.cluster = cluster;
  });
  const nodes = (await createLabNodes(state, {
    prefix: PREFIX,
    dir: BENCH_DIR,
    underlay: UNDERLAY,
    sbRemote: env.ovnSb,
    nbRemote: env.ovnNb,
  })) as [LabNode, LabNode];
  for (const n of nodes) log(`${n.name}: chassis ${n.name}, geneve encap ${n.underlayIp}`);

  const admin = adminNeutron(env, join(BENCH_DIR, 'admin-tokens'));
  const network = await admin.networks.create({ name: `${cluster}-net` });
  record.update((d) => void d.networks.push(network.id));
  const subnet = await admin.subnets.create({
    networkId: network.id,
    name: `${cluster}-sub`,
    ipVersion: 4,
    cidr: CIDR,
  });
  record.update((d) => void d.subnets.push(subnet.id));
  log(`Neutron network ${network.name} (${network.id}), MTU ${network.mtu}, subnet ${CIDR}`);

  const store = await openStore(storeUrl(env, storePrefix));
  await registerAdminCluster(store, env, cluster, { networkId: network.id, subnetId: subnet.id });
  log(`cluster ${cluster} registered in the etcd store (prefix ${storePrefix})`);

  const rts = new Map<string, Runtime>();
  for (const [i, n] of nodes.entries())
    for (const d of ['internal', 'hybrid'] as const)
      rts.set(`${i + 1}-${d}`, installRuntime({ cluster, env, storePrefix }, n, d));
  // Pinned on the internal conflist; the hybrid one's calls get a warm context of their own.
  const agents: TestAgent[] = [];
  for (const i of [1, 2] as const) {
    const agent = await startNodeAgent(state, rts.get(`${i}-internal`)!);
    agents.push(agent);
    log(`${nodes[i - 1]!.name}: nnet-agent pid ${agent.pid} on ${agent.socket}, metrics ${agent.metricsUrl}`);
  }
  return {
    env,
    tag,
    cluster,
    storePrefix,
    state,
    record,
    nodes,
    admin,
    store,
    network,
    subnet,
    agents: agents as [TestAgent, TestAgent],
    runtime: (node, driver) => rts.get(`${node}-${driver}`)!,
  };
}

/** Whether an earlier run left anything behind. */
export function leftoverRun(): boolean {
  if (!existsSync(BENCH_DIR)) return false;
  const s = new StateFile(BENCH_DIR).state;
  return !new BenchRecord(BENCH_DIR).empty || s.netns.length + s.pids.length + s.chassis.length > 0;
}

/**
 * Removes everything recorded: CNI DEL of pods still there, the nodes' agents (by PID), hand-plugged
 * OVS ports, Neutron ports, subnets and networks, the store prefix, then daemons (by PID), chassis
 * and namespaces.
 */
export async function teardown(store?: Store): Promise<string[]> {
  const done: string[] = [];
  const state = new StateFile(BENCH_DIR);
  const record = new BenchRecord(BENCH_DIR);
  const env = ensureEnv();
  for (const p of [...record.data.pods].reverse()) {
    if (existsSync(p.cniDir)) await harnessCall({ dir: p.cniDir }, 'del', p);
    record.update((d) => {
      d.pods = d.pods.filter((x) => x.containerId !== p.containerId);
    });
  }
  if (record.data.pods.length === 0) done.push('CNI DEL of the pods left');
  // After the DELs (the agents serve them), before the network goes (their sweeps use it).
  done.push(...(await stopAgents(state)));
  for (const o of record.data.ovsPorts) {
    await run('ovs-vsctl', [`--db=${o.db}`, '--timeout=10', '--if-exists', 'del-port', o.name], {
      allowFail: true,
    });
  }
  record.update((d) => {
    d.ovsPorts = [];
  });
  const admin = adminNeutron(env, join(BENCH_DIR, 'admin-tokens'));
  // Neutron deletes neither a trunk's parent port nor a subport: the trunks go first.
  for (const id of record.data.trunks) {
    const t = await admin.trunks.get(id).catch(() => undefined);
    if (t && t.subPorts.length > 0)
      await admin.trunks
        .removeSubports(
          id,
          t.subPorts.map((x) => x.portId),
        )
        .catch(() => undefined);
    await admin.trunks.ensureDeleted(id).catch(() => undefined);
  }
  if (record.data.trunks.length > 0) done.push(`deleted ${record.data.trunks.length} trunks`);
  record.update((d) => {
    d.trunks = [];
  });
  for (const id of record.data.ports) await admin.ports.ensureDeleted(id).catch(() => undefined);
  record.update((d) => {
    d.ports = [];
  });
  for (const net of record.data.networks) {
    for (const p of await admin.ports.list({ networkId: net }).catch(() => []))
      await admin.ports.ensureDeleted(p.id).catch(() => undefined);
  }
  if (record.data.cluster) {
    // The nodes' own ports (made by the first ADD on each node) and the cluster's node-access
    // groups, after the ports that carry them, as test/support/cluster.ts releases them.
    const cluster = record.data.cluster;
    const recorded = await store?.clusters
      .get(cluster)
      .then((c) => c?.nodeAccess)
      .catch(() => undefined);
    const released = await releaseClusterNodes(admin, cluster, recorded).catch(() => undefined);
    if (released) {
      // (the nodes' ports went with the network's ports above, so this is mostly the groups)
      done.push(`released the node-access groups (${released.groups.length}) of cluster ${cluster}`);
      record.update((d) => {
        delete d.cluster;
      });
    }
  }
  for (const id of record.data.subnets) await admin.subnets.ensureDeleted(id).catch(() => undefined);
  for (const id of record.data.networks) await admin.networks.ensureDeleted(id).catch(() => undefined);
  if (record.data.networks.length > 0) done.push('deleted the Neutron network, subnet and ports');
  record.update((d) => {
    d.subnets = [];
    d.networks = [];
  });
  await store?.close().catch(() => undefined);
  if (record.data.storePrefix && record.data.etcdUrl) {
    await wipeEtcdPrefix(record.data.etcdUrl, record.data.storePrefix).catch(() => undefined);
    done.push(`wiped etcd prefix ${record.data.storePrefix}`);
    record.update((d) => {
      delete d.storePrefix;
    });
  }
  done.push(...(await teardownNodes(state, env.ovnSb)).done);
  rmSync(BENCH_DIR, { recursive: true, force: true });
  return done;
}

async function wipeEtcdPrefix(etcdUrl: string, prefix: string): Promise<void> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  // '0' follows '/' in byte order: [prefix/, prefix0) is exactly the keys under prefix/.
  await fetch(`${etcdUrl}/v3/kv/deleterange`, {
    method: 'POST',
    body: JSON.stringify({ key: b64(`${prefix}/`), range_end: b64(`${prefix}0`) }),
  });
}
