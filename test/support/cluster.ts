/**
 * A registered N-Net cluster on a test node, as the CNI tests need it: a real OVS node joined to
 * the env's OVN as a chassis, a store (SQLite or etcd) holding the cluster's Keystone identity, a
 * Neutron network + subnet of the test's own, an admin Neutron client for assertions, the libcni
 * runtime with the built plugin configured for the node, and the node's nnet-agent serving its
 * CNI requests on a socket in the test's temporary dir (stopped by PID at the end). With
 * `nodes: 2`, a second node with its own runtime and agent, the two joined by an underlay of
 * their own (a Linux bridge in a netns, geneve between the nodes), as in the lab.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { createSession, loadCredentials } from '../../src/identity/index.ts';
import {
  createNeutronClient,
  type Network,
  type NeutronClient,
  type Subnet,
} from '../../src/neutron/index.ts';
import { releaseClusterNodes } from '../../src/resources/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { type AgentOptions, startAgent, type TestAgent } from './agent.ts';
import { type CniRuntime, cniRuntime } from './cni.ts';
import { ensureEnv, type TestEnv } from './env.ts';
import { type OvsNode, startOvsNode } from './ovs-node.ts';

export type StoreBackend = 'sqlite' | 'etcd';

export interface TestCluster {
  env: TestEnv;
  tag: string;
  name: string; // cluster name
  node: OvsNode;
  storeUrl: string;
  store: Store;
  neutron: NeutronClient;
  network: Network;
  subnet: Subnet;
  rt: CniRuntime;
  /** Every node, its runtime and its agent (node/rt/agent are the first's); two with `nodes: 2`. */
  nodes: OvsNode[];
  rts: CniRuntime[];
  agents: TestAgent[];
  /** With `nodes: 2`: the underlay's netns and each node's underlay address. */
  underlay?: { netns: string; ips: string[] };
  /** The first node's nnet-agent now (restartAgent replaces it). */
  agent: TestAgent;
  /**
   * Stops a node's agent (the first's unless `node`; SIGTERM; `kill`: SIGKILL, as a crash) and
   * starts a new one, e.g. with NNET_FAULT_KILL_AFTER in `env`. Resolves once it serves CNI.
   */
  restartAgent(
    o?: Pick<AgentOptions, 'env' | 'args'> & { kill?: boolean; node?: number },
  ): Promise<TestAgent>;
  stop(): Promise<void>;
}

/** A random encap IP in 127/8: OVN wants (type, ip) unique per chassis; it only exists inside the node. */
export function randomEncapIp(): string {
  const b = randomBytes(3);
  return `127.${(b[0]! % 250) + 2}.${b[1]}.${(b[2]! % 250) + 2}`;
}

/** Registers the environment's admin identity in the store as cluster `name`. */
export async function registerAdminCluster(
  store: Store,
  env: TestEnv,
  name: string,
  defaults: { networkId: string; subnetId: string },
  cloud = env.cloud,
  cloudsYaml = env.cloudsYaml,
): Promise<void> {
  await store.clusters.put({
    name,
    authUrl: env.keystoneUrl,
    region: env.region,
    // A reference to a 0600 clouds.yaml of root's, as kubenetctl create cluster keeps it.
    credentials: { type: 'node-file', path: cloudsYaml, cloud },
    defaultNetworkId: defaults.networkId,
    defaultSubnetId: defaults.subnetId,
  });
}

/** A 0600 clouds.yaml whose cloud `nnet-test` is the env's admin scoped to project `project`. */
function projectCloudsYaml(env: TestEnv, project: string, dir: string): string {
  const entry = (
    parseYaml(readFileSync(env.cloudsYaml, 'utf8')) as {
      clouds: Record<string, { auth: Record<string, unknown> }>;
    }
  ).clouds[env.cloud]!;
  const path = join(dir, 'project-clouds.yaml');
  const auth: Record<string, unknown> = { ...entry.auth, project_name: project };
  delete auth.project_id;
  writeFileSync(path, stringifyYaml({ clouds: { 'nnet-test': { ...entry, auth } } }), { mode: 0o600 });
  return path;
}

export function adminNeutron(env: TestEnv, cacheDir: string, cloud = env.cloud): NeutronClient {
  const session = createSession(loadCredentials({ file: env.cloudsYaml, cloud, env: {} }), {
    cacheDir,
  });
  return createNeutronClient(session);
}

export interface TestClusterOptions {
  prefix: string; // e.g. 'nntc'
  backend: StoreBackend;
  cidr?: string;
  plugin?: Record<string, unknown>;
  /** Run the agent's test build with the fault hook (FAULTY_AGENT) instead of the shipped one. */
  faulty?: boolean;
  /** Extra flags for the agents. */
  agentArgs?: string[];
  /** A project of the test's own (test/support/project.ts): the cluster and its network are its. */
  project?: { id: string; name: string };
  /** 1 (default) or 2 nodes. */
  nodes?: 1 | 2;
  /**
   * Whose credentials the cluster (its plugin and agents) and the fixture use: the env's
   * least-privilege user, a member of project nnet-ci with the nnet-node role (the default, as a
   * production cluster runs), or its admin where a test needs what only admin may do. A test with
   * a `project` of its own uses admin scoped to that project.
   */
  identity?: 'admin' | 'member';
  /**
   * A store URL of the test's own (e.g. an etcd it started, with TLS and auth) instead of the
   * backend's default; the test owns it and wipes nothing there.
   */
  storeUrl?: string;
}

export async function startTestCluster(o: TestClusterOptions): Promise<TestCluster> {
  const env = ensureEnv();
  const tag = randomBytes(3).toString('hex');
  const name = `${o.prefix}-${tag}`;
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const undo: (() => Promise<unknown> | unknown)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const u of undo.reverse())
      await Promise.resolve()
        .then(u)
        .catch(() => undefined);
  };
  try {
    const storeUrl =
      o.storeUrl ??
      (o.backend === 'sqlite' ? `sqlite:${dir}/nnet.db` : `etcd:${env.etcdUrl}?prefix=/${name}`);
    const store = await openStore(storeUrl);
    undo.push(async () => {
      if (o.backend === 'etcd' && !o.storeUrl) await wipeEtcdPrefix(env.etcdUrl, `/${name}`);
      await store.close();
    });
    const cloud = o.identity === 'admin' || o.project ? env.cloud : env.memberCloud;
    const neutron = adminNeutron(env, join(dir, 'tokens'), cloud);
    const network = await neutron.networks.create({
      name: `${name}-net`,
      ...(o.project ? { projectId: o.project.id } : {}),
    });
    undo.push(() => neutron.networks.ensureDeleted(network.id));
    // After the ports (the subnet's undo, below, runs first): the node-access groups are in use until then.
    undo.push(async () => releaseClusterNodes(neutron, name, (await store.clusters.get(name))?.nodeAccess));
    const subnet = await neutron.subnets.create({
      networkId: network.id,
      name: `${name}-sub`,
      ipVersion: 4,
      cidr: o.cidr ?? '1.2.0.0/16',
      // Tests pin static IPs in 1.2.0.x: Neutron gives node ports and pool ports a random one of
      // a pool's first free addresses, which must not be one a test is about to ask for.
      ...(o.cidr ? {} : { allocationPools: [{ start: '1.2.1.1', end: '1.2.255.254' }] }),
      ...(o.project ? { projectId: o.project.id } : {}),
    });
    undo.push(async () => {
      // Ports left by a failed test first, so the subnet and network can go.
      for (const p of await neutron.ports.list({ networkId: network.id }))
        await neutron.ports.ensureDeleted(p.id);
      await neutron.subnets.ensureDeleted(subnet.id);
    });
    // A project of the test's own: the cluster logs in scoped to it, from a clouds.yaml of its own.
    const clusterClouds = o.project ? projectCloudsYaml(env, o.project.name, dir) : env.cloudsYaml;
    await registerAdminCluster(
      store,
      env,
      name,
      { networkId: network.id, subnetId: subnet.id },
      o.project ? 'nnet-test' : cloud,
      clusterClouds,
    );
    const count = o.nodes ?? 1;
    const underlay = count > 1 ? await createTestUnderlay(name, undo) : undefined;
    const nodes: OvsNode[] = [];
    const rts: CniRuntime[] = [];
    const sockets: string[] = [];
    for (let i = 0; i < count; i++) {
      const nodeName = i === 0 ? name : `${name}-n${i + 1}`;
      const ip = underlay?.ips[i];
      const node = await startOvsNode({
        name: nodeName,
        prefix: o.prefix,
        ovn: { sbRemote: env.ovnSb, nbRemote: env.ovnNb, chassis: nodeName, encapIp: ip ?? randomEncapIp() },
        ...(underlay && ip
          ? {
              underlay: {
                netns: underlay.netns,
                bridge: underlay.bridge,
                device: `${o.prefix}ul${i}`,
                cidr: `${ip}/24`,
                mtu: 9000,
              },
            }
          : {}),
      });
      undo.push(() => node.stop());
      nodes.push(node);
      const socket = join(dir, i === 0 ? 'agent' : `agent-${i}`, 'cni.sock');
      sockets.push(socket);
      const rt = cniRuntime({
        prefix: nodeName,
        plugin: {
          store: storeUrl,
          cluster: name,
          nodeName,
          ovsdbSocket: `unix:${node.ovsdbSocket}`,
          ovsNetns: node.netnsPath,
          datapathType: 'netdev',
          tokenCacheDir: join(dir, `plugin-tokens-${i}`),
          agentSocket: socket,
          ...o.plugin,
        },
      });
      undo.push(() => rt.remove());
      rts.push(rt);
    }
    const agentOptions = (i: number, extra: Pick<AgentOptions, 'env' | 'args'> = {}): AgentOptions => ({
      conflist: rts[i]!.conflist,
      socket: sockets[i]!,
      logFile: join(dir, i === 0 ? 'agent.log' : `agent-${i}.log`),
      ...(o.faulty ? { faulty: true } : {}),
      ...(extra.env ? { env: extra.env } : {}),
      args: [...(o.agentArgs ?? []), ...(extra.args ?? [])],
    });
    const agents: TestAgent[] = [];
    // Before the nodes and the network go: the agents' DELs and sweeps need them.
    undo.push(() => Promise.all(agents.map((a) => a.stop())));
    for (let i = 0; i < count; i++) agents.push(await startAgent(agentOptions(i)));
    const [node, rt] = [nodes[0]!, rts[0]!];
    const cluster: TestCluster = {
      env,
      tag,
      name,
      node,
      storeUrl,
      store,
      neutron,
      network,
      subnet,
      rt,
      nodes,
      rts,
      agents,
      ...(underlay ? { underlay: { netns: underlay.netns, ips: underlay.ips } } : {}),
      agent: agents[0]!,
      async restartAgent(extra = {}) {
        const i = extra.node ?? 0;
        if (extra.kill) await agents[i]!.kill();
        else await agents[i]!.stop();
        agents[i] = await startAgent(agentOptions(i, extra));
        if (i === 0) cluster.agent = agents[0]!;
        return agents[i]!;
      },
      stop,
    };
    return cluster;
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * An underlay of the test's own: a netns with a Linux bridge, and a /24 in 100.64.100–199.0/24
 * picked at random (the lab uses 100.64.0 and its test 100.64.7).
 */
async function createTestUnderlay(
  name: string,
  undo: (() => Promise<unknown> | unknown)[],
): Promise<{ netns: string; bridge: string; ips: string[] }> {
  const netns = `${name}-ul`;
  const bridge = 'nntulbr';
  const third = 100 + (randomBytes(1)[0]! % 100);
  execFileSync('ip', ['netns', 'add', netns]);
  undo.push(() => execFileSync('ip', ['netns', 'del', netns]));
  execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  execFileSync('ip', ['-n', netns, 'link', 'add', bridge, 'type', 'bridge']);
  execFileSync('ip', ['-n', netns, 'link', 'set', bridge, 'mtu', '9000', 'up']);
  return { netns, bridge, ips: [`100.64.${third}.1`, `100.64.${third}.2`] };
}

async function wipeEtcdPrefix(etcdUrl: string, prefix: string): Promise<void> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  // range_end = prefix with its last byte + 1: every key under the prefix.
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  await fetch(`${etcdUrl}/v3/kv/deleterange`, {
    method: 'POST',
    body: JSON.stringify({ key: b64(prefix), range_end: b64(end) }),
  });
}
