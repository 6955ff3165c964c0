/**
 * A registered N-Net cluster on a test node, as the CNI tests need it: a real OVS node joined to
 * the env's OVN as a chassis, a store (SQLite or etcd) holding the cluster's Keystone identity, a
 * Neutron network + subnet of the test's own, an admin Neutron client for assertions, the libcni
 * runtime with the built plugin configured for the node, and the node's nnet-agent serving its
 * CNI requests on a socket in the test's temporary dir (stopped by PID at the end).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  /** The node's nnet-agent now (restartAgent replaces it). */
  agent: TestAgent;
  /**
   * Stops the agent (SIGTERM; `kill`: SIGKILL, as a crash) and starts a new one, e.g. with
   * NNET_FAULT_KILL_AFTER in `env`. Resolves once it serves CNI.
   */
  restartAgent(o?: Pick<AgentOptions, 'env' | 'args'> & { kill?: boolean }): Promise<TestAgent>;
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
  projectName?: string,
): Promise<void> {
  const pw = env.osEnv;
  await store.clusters.put({
    name,
    authUrl: env.keystoneUrl,
    region: env.region,
    credentials: {
      type: 'password',
      username: pw.OS_USERNAME!,
      userDomain: pw.OS_USER_DOMAIN_ID ?? 'default',
      password: pw.OS_PASSWORD!,
      projectName: projectName ?? pw.OS_PROJECT_NAME!,
      projectDomain: pw.OS_PROJECT_DOMAIN_ID ?? 'default',
    },
    defaultNetworkId: defaults.networkId,
    defaultSubnetId: defaults.subnetId,
  });
}

export function adminNeutron(env: TestEnv, cacheDir: string): NeutronClient {
  const session = createSession(loadCredentials({ file: env.cloudsYaml, cloud: env.cloud, env: {} }), {
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
  /** Extra flags for the agent. */
  agentArgs?: string[];
  /** A project of the test's own (test/support/project.ts): the cluster and its network are its. */
  project?: { id: string; name: string };
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
    const storeUrl = o.backend === 'sqlite' ? `sqlite:${dir}/nnet.db` : `etcd:${env.etcdUrl}?prefix=/${name}`;
    const store = await openStore(storeUrl);
    undo.push(async () => {
      if (o.backend === 'etcd') await wipeEtcdPrefix(env.etcdUrl, `/${name}`);
      await store.close();
    });
    const neutron = adminNeutron(env, join(dir, 'tokens'));
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
      ...(o.project ? { projectId: o.project.id } : {}),
    });
    undo.push(async () => {
      // Ports left by a failed test first, so the subnet and network can go.
      for (const p of await neutron.ports.list({ networkId: network.id }))
        await neutron.ports.ensureDeleted(p.id);
      await neutron.subnets.ensureDeleted(subnet.id);
    });
    await registerAdminCluster(
      store,
      env,
      name,
      { networkId: network.id, subnetId: subnet.id },
      o.project?.name,
    );
    const node = await startOvsNode({
      name,
      prefix: o.prefix,
      ovn: { sbRemote: env.ovnSb, nbRemote: env.ovnNb, chassis: name, encapIp: randomEncapIp() },
    });
    undo.push(() => node.stop());
    const socket = join(dir, 'agent', 'cni.sock');
    const rt = cniRuntime({
      prefix: name,
      plugin: {
        store: storeUrl,
        cluster: name,
        nodeName: name,
        ovsdbSocket: `unix:${node.ovsdbSocket}`,
        ovsNetns: node.netnsPath,
        datapathType: 'netdev',
        tokenCacheDir: join(dir, 'plugin-tokens'),
        agentSocket: socket,
        ...o.plugin,
      },
    });
    undo.push(() => rt.remove());
    const agentOptions = (extra: Pick<AgentOptions, 'env' | 'args'> = {}): AgentOptions => ({
      conflist: rt.conflist,
      socket,
      logFile: join(dir, 'agent.log'),
      ...(o.faulty ? { faulty: true } : {}),
      ...(extra.env ? { env: extra.env } : {}),
      args: [...(o.agentArgs ?? []), ...(extra.args ?? [])],
    });
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
      agent: await startAgent(agentOptions()),
      async restartAgent(extra = {}) {
        if (extra.kill) await cluster.agent.kill();
        else await cluster.agent.stop();
        cluster.agent = await startAgent(agentOptions(extra));
        return cluster.agent;
      },
      stop,
    };
    // Before the node and the network go: the agent's DELs and sweeps need them.
    undo.push(() => cluster.agent.stop());
    return cluster;
  } catch (e) {
    await stop();
    throw e;
  }
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
