/**
 * The two-node lab: real Keystone + Neutron (ML2/OVN) + etcd, two nodes (each a netns with its own
 * ovsdb-server, ovs-vswitchd, ovn-controller, the nnet plugin and nnet-agent), and the paper's
 * experiments 1 and 2 (IPv4 and IPv6: lab/ipv6.ts) with real containers: network side through
 * kubenetctl, kubelet side through podman running on the node, through the node's conflist (nnet,
 * then portmap). Then one node's ovs-vswitchd is restarted while a pod pings, and the agent's
 * recovery is measured; last, experiment 3 (lab/k8s.ts). lab/README.md has the layout.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { type LabAgent, startAgent } from './agent.ts';
import { IPV6_SUBNETS, ipv6Pings, ipv6SubnetCommands } from './ipv6.ts';
import { experiment4, type IsolationResult, isolationGroupNames, labGroupTag } from './isolation.ts';
import { experiment3, type K8sResult } from './k8s.ts';
import { adminNeutron, type Leftover, removeLabNeutron } from './neutron.ts';
import { createLabNodes, type LabNode, teardownNodes } from './nodes.ts';
import { busyboxTarball, importImage, type NodePodman, podman, removeNodePodman, runArgs } from './podman.ts';
import { type RestartResult, restartVswitchdWhilePinging } from './restart.ts';
import { mountsUnder, type RunResult, run, stopPid, waitFor } from './sh.ts';
import { StateFile } from './state.ts';
import type { StepLog } from './steps.ts';
import { alignColumns } from './table.ts';

export const ROOT = join(import.meta.dirname, '..');

export interface LabOptions {
  /** Prefix of every namespace, device, container, Neutron name and store key the lab makes. */
  prefix: string;
  /** Where the lab keeps its state. */
  dir: string;
  /** First three octets of the underlay /24 (nodes get .1, .2). */
  underlay: string;
  log: StepLog;
  /** Skip install/build (the test suite has done them). */
  skipInstall?: boolean;
  /** scripts/lab.sh installed the packages already, in this many ms (shown in the summary). */
  depsMs?: number;
}

export const DEFAULT_LAB: Omit<LabOptions, 'log'> = {
  prefix: 'nnl',
  dir: join(ROOT, '.lab/lab'),
  underlay: '100.64.0',
};

/** NNET_LAB_PREFIX, NNET_LAB_DIR, NNET_LAB_UNDERLAY: a second lab beside the default one (tests). */
export function labOptionsFromEnv(env: NodeJS.ProcessEnv): Omit<LabOptions, 'log'> {
  const o = { ...DEFAULT_LAB };
  if (env.NNET_LAB_PREFIX) {
    if (!/^[a-z][a-z0-9]{1,5}$/.test(env.NNET_LAB_PREFIX))
      throw new Error(`NNET_LAB_PREFIX "${env.NNET_LAB_PREFIX}" must be 2-6 lower-case letters or digits`);
    o.prefix = env.NNET_LAB_PREFIX;
  }
  if (env.NNET_LAB_DIR) o.dir = env.NNET_LAB_DIR;
  if (env.NNET_LAB_UNDERLAY) {
    if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(env.NNET_LAB_UNDERLAY))
      throw new Error(`NNET_LAB_UNDERLAY "${env.NNET_LAB_UNDERLAY}" must be three octets, e.g. 100.64.0`);
    o.underlay = env.NNET_LAB_UNDERLAY;
  }
  return o;
}

export interface Endpoints {
  sbRemote: string;
  nbRemote: string;
  cloudsYaml: string;
  cloud: string;
  keystone: string;
  neutron: string;
  etcd: string;
}

function endpoints(): Endpoints {
  const ep = JSON.parse(readFileSync(join(ROOT, '.lab/env/openstack/endpoints.json'), 'utf8'));
  return {
    sbRemote: ep.ovn_sb,
    nbRemote: ep.ovn_nb,
    cloudsYaml: ep.clouds_yaml,
    cloud: ep.cloud,
    keystone: ep.keystone,
    neutron: ep.neutron,
    etcd: 'http://127.0.0.1:2379',
  };
}

export interface PingResult {
  pair: string;
  family: 'IPv4' | 'IPv6';
  from: string;
  to: string;
  toIp: string;
  hosts: 'same host' | 'different hosts';
  subnets: 'same subnet' | 'different subnets';
  ok: boolean;
  rttMs: number | undefined;
}

export interface LabResult {
  pod1: { ip: string; node: string; status: string; eth0: string; container: string };
  pings: PingResult[];
  restart: RestartResult;
  /** The container that took a pool port, and `kubenetctl get pools` then. */
  pool: { container: string; node: string; eth0: string; runMs: number; table: string };
  k8s: K8sResult;
  isolation: IsolationResult;
  agents: LabAgent[];
  seconds: number;
}

/** Thrown when something the lab cannot (or may not) delete is in the way. */
export class LabLeftoversError extends Error {
  constructor(
    readonly left: Leftover[],
    readonly verb: 'up' | 'down',
  ) {
    super(formatLeftovers(left, verb).join('\n'));
  }
}

/** The report of what is left: what, why, and the command that removes the cause. */
export function formatLeftovers(left: readonly Leftover[], verb: 'up' | 'down'): string[] {
  const head =
    verb === 'down'
      ? `lab down: NOT everything could be removed; ${left.length} thing(s) left:`
      : `lab up: refusing to start: ${left.length} thing(s) in the way that the lab cannot remove:`;
  const lines = [head];
  for (const l of left) lines.push(`  - ${l.what}`, `      why: ${l.why}`, `      fix: ${l.fix}`);
  lines.push(
    verb === 'down'
      ? 'After the fix, run `npm run lab -- down` again: it removes the rest.'
      : 'After the fix, run `npm run lab` again.',
  );
  return lines;
}

/** Where a pod runs: a lab node, or (nested mode) a VM on one. */
export type PodHost = Pick<LabNode, 'name' | 'netns'>;

export interface Pod<N extends PodHost = LabNode> {
  /** The experiment's name for it (p1 is pod1). */
  label: string;
  /** Container name = podnetwork name = K8S_POD_NAME. */
  name: string;
  node: N;
  subnet: string;
  ip: string;
  /** Its static IPv6 address (the pods are dual-stack: lab/ipv6.ts). */
  ip6?: string;
}

export const storeUrl = (o: Pick<LabOptions, 'prefix'>, ep: Endpoints) =>
  `etcd:${ep.etcd}?prefix=/${o.prefix}`;
export const clusterName = (o: Pick<LabOptions, 'prefix'>) => `${o.prefix}-cluster`;
export const networkName = (o: Pick<LabOptions, 'prefix'>) => `${o.prefix}-nnet`;
export const POD_NAMESPACE = 'default';

function labNames(o: Pick<LabOptions, 'prefix'>) {
  return {
    network: [`${o.prefix}-net1`, `${o.prefix}-net2`],
    subnet: [`${o.prefix}-sub1`, `${o.prefix}-sub2`, ...IPV6_SUBNETS.map((s) => `${o.prefix}-${s.name}`)],
    router: [`${o.prefix}-router`],
    securityGroup: Object.values(isolationGroupNames(o.prefix)),
  };
}

export function nodePodman(o: Pick<LabOptions, 'dir'>, node: { name: string; netns: string }): NodePodman {
  const cni = join(o.dir, node.name, 'cni');
  return {
    node: node.name,
    netns: node.netns,
    dir: join(o.dir, 'podman', node.name),
    netD: join(cni, 'net.d'),
    cniBin: join(cni, 'bin'),
  };
}

function ctl(o: LabOptions, ep: Endpoints, args: string[]) {
  return run(process.execPath, [join(ROOT, 'dist/kubenetctl.js'), ...args], {
    env: {
      NNET_STORE: storeUrl(o, ep),
      NNET_CLUSTER: clusterName(o),
      OS_CLIENT_CONFIG_FILE: ep.cloudsYaml,
      OS_CLOUD: ep.cloud,
      NNET_TOKEN_CACHE_DIR: join(o.dir, 'tokens'),
    },
  });
}

/** kubenetctl, echoed to the progress output as a person would type it. */
export async function kubenetctl(o: LabOptions, ep: Endpoints, args: string[], show = true): Promise<string> {
  if (show) o.log.info(`$ kubenetctl ${args.join(' ')}`);
  return (await ctl(o, ep, args)).stdout;
}

/** A command's arguments as a person would type them (quoted where they hold a space or a quote). */
export const typed = (args: readonly string[]) => args.map((a) => (/[\s"]/.test(a) ? `'${a}'` : a)).join(' ');

/** podman on the pod's node, echoed as a person on that node would type it. */
export async function podmanOn(o: LabOptions, node: PodHost, args: string[], show = true): Promise<string> {
  if (show) o.log.info(`(${node.name}) $ podman ${typed(args)}`);
  return (await podman(nodePodman(o, node), args, { timeoutMs: 120_000 })).stdout;
}

/** The node's nnet-agent CNI socket (each lab node has its own agent on this host). */
export function agentSocket(o: LabOptions, node: Pick<LabNode, 'name'>): string {
  return join(o.dir, node.name, 'run', 'cni.sock');
}

/**
 * The nnet plugin and the node's conflist. `nested` makes it a VM node's (lab/nested.ts): the vlan
 * driver on the VM's NIC, and no portmap (the nested lab has no hostPort row).
 */
export function installPlugin(
  o: LabOptions,
  ep: Endpoints,
  node: Pick<LabNode, 'name' | 'netns' | 'ovsdbSocket'>,
  nested?: { nic: string; vlanDevice: 'ovs' | 'kernel' },
): string {
  const cni = join(o.dir, node.name, 'cni');
  for (const d of ['bin', 'net.d', 'cache']) mkdirSync(join(cni, d), { recursive: true });
  copyFileSync(join(ROOT, 'dist/nnet'), join(cni, 'bin/nnet'));
  const conflist = {
    cniVersion: '1.0.0',
    name: networkName(o),
    plugins: [
      {
        type: 'nnet',
        capabilities: { ips: true, mac: true },
        store: storeUrl(o, ep),
        cluster: clusterName(o),
        nodeName: node.name,
        ovsdbSocket: node.ovsdbSocket,
        ovsNetns: node.netns,
        datapathType: 'netdev',
        logFile: join(o.dir, node.name, 'nnet.log'),
        tokenCacheDir: join(o.dir, node.name, 'tokens'),
        // The node's agent serves the plugin here; a unix socket works from any netns.
        agentSocket: agentSocket(o, node),
        ...(nested ? { plugDriver: 'vlan', nested } : {}),
      },
      // hostPort (experiment 3): portmap from Debian's containernetworking-plugins, in the node's netns.
      ...(nested ? [] : [{ type: 'portmap', capabilities: { portMappings: true } }]),
    ],
  };
  const file = join(cni, 'net.d/10-nnet.conflist');
  writeFileSync(file, `${JSON.stringify(conflist, null, 2)}\n`);
  return file;
}

/**
 * Sends `ping -c 3` (`send`) until one round loses nothing, for up to 15 s: the first packets may
 * be lost while OVN learns the path. `last` is the last round's output.
 */
export async function pingUntilClean(
  send: () => Promise<RunResult>,
): Promise<{ ok: boolean; rttMs: number | undefined; last: string }> {
  const deadline = Date.now() + 15_000;
  let last = '';
  while (Date.now() < deadline) {
    const r = await send();
    last = r.stdout;
    if (r.code === 0 && / 0% packet loss/.test(r.stdout)) {
      const m = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
      return { ok: true, rttMs: m ? Number(m[1]) : undefined, last };
    }
  }
  return { ok: false, rttMs: undefined, last };
}

/** A ping from inside a pod's container; a pair that answered some of its last round passes. */
export async function ping(
  from: Pod<PodHost>,
  toIp: string,
  o: LabOptions,
  family: 4 | 6 = 4,
): Promise<{ ok: boolean; rttMs: number | undefined }> {
  const r = await pingUntilClean(() =>
    podman(
      nodePodman(o, from.node),
      ['exec', from.name, 'ping', `-${family}`, '-c', '3', '-i', '0.2', '-W', '1', toIp],
      { allowFail: true },
    ),
  );
  if (r.ok) return { ok: true, rttMs: r.rttMs };
  return { ok: !!r.last && !/100% packet loss/.test(r.last), rttMs: undefined };
}

async function envIsUp(): Promise<boolean> {
  const r = await run('bash', [join(ROOT, 'scripts/env/status.sh')], {
    allowFail: true,
    env: { QUIET: '1' },
  });
  return r.code === 0;
}

export async function installAndBuild(o: LabOptions): Promise<void> {
  if (o.depsMs !== undefined) o.log.record('install Debian and npm packages (scripts/lab.sh)', o.depsMs);
  else
    await o.log.step('install Debian and npm packages (scripts/install-deps.sh)', async () => {
      const r = await run('bash', [join(ROOT, 'scripts/install-deps.sh')], { timeoutMs: 1_800_000 });
      for (const l of r.stdout.trimEnd().split('\n')) o.log.info(l);
    });
  await o.log.step('build nnet, kubenetctl, nnet-agent', () =>
    run('npm', ['run', '-s', 'build'], { env: { npm_config_loglevel: 'error' } }),
  );
}

export async function startEnv(o: LabOptions, state: StateFile): Promise<Endpoints> {
  const up = await envIsUp();
  if (!up) {
    // An environment this checkout does not own (a symlinked .lab/env, NNET_ENV_DIR) is someone
    // else's: starting it here would make `lab down` stop it later.
    const own = join(realpathSync(ROOT), '.lab/env');
    const dir = process.env.NNET_ENV_DIR ?? join(ROOT, '.lab/env');
    if (existsSync(dir) && realpathSync(dir) !== own)
      throw new Error(
        `the test environment at ${realpathSync(dir)} is not running, and it is not this checkout's: start it where it belongs (scripts/env/up.sh there), then run the lab again`,
      );
    state.update((s) => {
      s.envStartedByLab = true;
    });
  }
  await o.log.step(
    up
      ? 'OpenStack environment already up: reuse it'
      : 'start Keystone, Neutron (ML2/OVN), OVN central, MariaDB, etcd',
    () =>
      run('bash', [join(ROOT, 'scripts/env/up.sh')], { env: { NNET_SKIP_INSTALL: '1' }, timeoutMs: 300_000 }),
  );
  return endpoints();
}

/** Removes what an earlier run left; refuses (LabLeftoversError) when something cannot go. */
export async function clearPrevious(o: LabOptions): Promise<void> {
  const r = await o.log.step("remove what an earlier lab run left (by the lab's names and tags)", () =>
    labDown(o, { keepEnv: true }),
  );
  if (r.lines.length === 0) o.log.info('nothing was left');
  for (const l of r.lines) o.log.info(l);
  if (r.left.length > 0) throw new LabLeftoversError(r.left, 'up');
}

export async function startNodes(
  o: LabOptions,
  state: StateFile,
  ep: Endpoints,
): Promise<{ nodes: LabNode[]; agents: LabAgent[] }> {
  const nodes = await o.log.step(
    'start two nodes (netns + ovsdb-server + ovs-vswitchd + ovn-controller, geneve underlay)',
    () =>
      createLabNodes(state, {
        prefix: o.prefix,
        dir: o.dir,
        underlay: o.underlay,
        sbRemote: ep.sbRemote,
        nbRemote: ep.nbRemote,
      }),
  );
  for (const n of nodes) o.log.info(`${n.name}: netns ${n.netns}, chassis ${n.name}, encap ${n.underlayIp}`);
  const agents = await o.log.step(
    'on each node: the nnet plugin and its conflist, nnet-agent serving its CNI socket',
    async () => {
      const out: LabAgent[] = [];
      for (const n of nodes) {
        const conflist = installPlugin(o, ep, n);
        const agent = await startAgent(state, n.name, conflist, n.dir);
        o.log.info(
          `${n.name}: ${conflist}; nnet-agent pid ${agent.pid} on ${agentSocket(o, n)}, metrics ${agent.metricsUrl}`,
        );
        out.push(agent);
      }
      return out;
    },
  );
  await o.log.step(
    "build the busybox image from Debian's busybox-static on each node (nothing is pulled)",
    async () => {
      const tar = busyboxTarball(o.dir);
      for (const n of nodes) {
        o.log.info(`(${n.name}) $ podman import ${tar} localhost/nnet-busybox:1`);
        await importImage(nodePodman(o, n), tar);
      }
    },
  );
  return { nodes, agents };
}

export async function createNetworks(
  o: LabOptions,
  state: StateFile,
  ep: Endpoints,
  opts: { ipv6?: boolean } = {},
): Promise<void> {
  const cluster = clusterName(o);
  const [net1, net2] = labNames(o).network as [string, string];
  state.update((s) => {
    s.neutronTouched = true;
  });
  await o.log.step(
    `register cluster ${cluster}'s Keystone identity; create networks, subnets and a router`,
    async () => {
      const k = (...args: string[]) => kubenetctl(o, ep, args);
      await k('create', 'cluster', cluster, '--cloud', ep.cloud, '--clouds-file', ep.cloudsYaml);
      await k('create', 'network', net1);
      // The pods' static IPs are below each allocation pool: Neutron picks the addresses of the
      // node ports and pool ports at random among a pool's first free ones, and one inside the
      // static range would take a pod's IP before the pod asks for it.
      await k(
        'create',
        'subnet',
        `${o.prefix}-sub1`,
        '--network',
        net1,
        '--cidr',
        '1.2.0.0/16',
        '--allocation-pool',
        '1.2.1.1-1.2.255.254',
      );
      await k('create', 'network', net2);
      await k(
        'create',
        'subnet',
        `${o.prefix}-sub2`,
        '--network',
        net2,
        '--cidr',
        '192.168.10.0/24',
        '--allocation-pool',
        '192.168.10.100-192.168.10.254',
      );
      await k('create', 'router', `${o.prefix}-router`);
      await k('connect', 'router', `${o.prefix}-router`, '--subnet', `${o.prefix}-sub1`);
      await k('connect', 'router', `${o.prefix}-router`, '--subnet', `${o.prefix}-sub2`);
      if (opts.ipv6 !== false) for (const args of ipv6SubnetCommands(o.prefix)) await k(...args);
      // Pods that ask for nothing go to net1, from warm port pools every node's agent keeps.
      await k(
        'set',
        'cluster',
        cluster,
        '--default-network',
        net1,
        '--pool-min',
        '2',
        '--pool-max',
        '4',
        '--pool-batch',
        '2',
      );
    },
  );
}

/**
 * A container with no reservation on node 1 takes a ready port from node 1's pool (its agent
 * made and plugged it before); `kubenetctl get pools` shows each node's pools.
 */
async function poolStep(
  o: LabOptions,
  state: StateFile,
  ep: Endpoints,
  node: LabNode,
): Promise<LabResult['pool']> {
  return o.log.step(`warm port pools: a container without a reservation on ${node.name}`, async () => {
    const ready = async () => {
      const list = JSON.parse(await kubenetctl(o, ep, ['get', 'pools', '-o', 'json'], false));
      return (list.items as { spec: { node: string }; status: { ready: number } }[]).filter(
        (i) => i.status.ready > 0,
      ).length;
    };
    await waitFor("both nodes' pools to be filled", async () => (await ready()) >= 2, 300_000);
    const name = `${o.prefix}-p5`;
    const np = nodePodman(o, node);
    state.update((s) => {
      s.containers.push({ name, node: node.name, netns: node.netns, podmanDir: np.dir });
    });
    const t0 = Date.now();
    await podmanOn(o, node, runArgs(name, networkName(o)));
    const runMs = Date.now() - t0;
    const eth0 = (
      await podmanOn(o, node, ['exec', name, 'ip', '-o', '-4', 'addr', 'show', 'eth0'], false)
    ).trim();
    // The agent records a pool's in-use ports in the background after the ADD: wait for it.
    await waitFor(
      `${node.name}'s pool to record the port in use`,
      async () => {
        const list = JSON.parse(await kubenetctl(o, ep, ['get', 'pools', '-o', 'json'], false));
        return (list.items as { spec: { node: string }; status: { inUse?: number } }[]).some(
          (i) => i.spec.node === node.name && (i.status.inUse ?? 0) > 0,
        );
      },
      120_000,
    );
    const table = await kubenetctl(o, ep, ['get', 'pools']);
    for (const l of table.trimEnd().split('\n')) o.log.info(l);
    return {
      container: name,
      node: node.name,
      eth0: /inet (\S+)/.exec(eth0)?.[1] ?? eth0,
      runMs,
      table: table.trimEnd(),
    };
  });
}

/** kubenetctl reserves the pod's IPs; podman on its node starts the container, whose CNI ADD binds and plugs it. */
export async function addPod(
  o: LabOptions,
  state: StateFile,
  ep: Endpoints,
  p: Pod<PodHost>,
  run = runArgs(p.name, networkName(o)),
  reserveArgs: string[] = [],
): Promise<void> {
  await kubenetctl(o, ep, [
    'create',
    'podnetwork',
    p.name,
    '-n',
    POD_NAMESPACE,
    '--subnet',
    p.subnet,
    '--ip',
    p.ip,
    ...(p.ip6 ? ['--ip', p.ip6] : []),
    ...reserveArgs,
  ]);
  const np = nodePodman(o, p.node);
  state.update((s) => {
    s.containers.push({ name: p.name, node: p.node.name, netns: p.node.netns, podmanDir: np.dir });
  });
  await podmanOn(o, p.node, run);
}

export async function experiment1(
  o: LabOptions,
  state: StateFile,
  ep: Endpoints,
  pod1: Pod<PodHost>,
): Promise<LabResult['pod1']> {
  return o.log.step(
    `experiment 1: ${pod1.name} with subnet ${pod1.subnet} and IP ${pod1.ip}, a container on ${pod1.node.name}`,
    async () => {
      await addPod(o, state, ep, pod1);
      let row: Record<string, unknown> | undefined;
      await waitFor(
        `${pod1.name}'s port ACTIVE`,
        async () => {
          const list = JSON.parse(
            await kubenetctl(o, ep, ['get', 'podnetworks', '-n', POD_NAMESPACE, '-o', 'json'], false),
          );
          row = (list.items as Record<string, unknown>[]).find((i) =>
            JSON.stringify(i).includes(`"${pod1.name}"`),
          );
          return JSON.stringify(row ?? {}).includes('ACTIVE');
        },
        180_000, // a generous deadline: a busy Neutron marks the port ACTIVE tens of seconds late
      );
      const table = await kubenetctl(o, ep, ['get', 'podnetworks', '-n', POD_NAMESPACE, '-o', 'wide']);
      for (const l of table.trimEnd().split('\n')) o.log.info(l);
      const addr = await podmanOn(o, pod1.node, [
        'exec',
        pod1.name,
        'ip',
        '-o',
        '-4',
        'addr',
        'show',
        'eth0',
      ]);
      // busybox: "6: eth0    inet 1.2.0.100/16 scope global eth0\       valid_lft …" → "eth0 inet 1.2.0.100/16 scope global"
      const eth0 = addr
        .replace(/^\d+:\s*/, '')
        .replace(/\s+eth0\b.*$/s, '')
        .replace(/\s+/g, ' ')
        .trim();
      o.log.info(eth0);
      return {
        ip: pod1.ip,
        node: pod1.node.name,
        status: JSON.stringify(row).includes('ACTIVE') ? 'ACTIVE' : 'unknown',
        eth0,
        container: pod1.name,
      };
    },
  );
}

async function experiment2(
  o: LabOptions,
  state: StateFile,
  ep: Endpoints,
  pods: [Pod, Pod, Pod, Pod],
): Promise<PingResult[]> {
  const [p1, p2, p3, p4] = pods;
  return o.log.step(
    `experiment 2: ${p1.name} (=p1), ${p2.name} on node 1; ${p3.name}, ${p4.name} on node 2; routed subnets; pings from inside the containers`,
    async () => {
      for (const p of [p2, p3, p4]) await addPod(o, state, ep, p);
      const pairs: [Pod, Pod][] = [
        [p1, p2],
        [p4, p3],
        [p1, p4],
        [p1, p3],
      ];
      const out: PingResult[] = [];
      for (const [a, b] of pairs) {
        const r = await ping(a, b.ip, o);
        out.push({
          pair: `${a.label} → ${b.label}`,
          family: 'IPv4',
          from: a.name,
          to: b.name,
          toIp: b.ip,
          hosts: a.node === b.node ? 'same host' : 'different hosts',
          subnets: a.subnet === b.subnet ? 'same subnet' : 'different subnets',
          ok: r.ok,
          rttMs: r.rttMs,
        });
      }
      out.push(...(await ipv6Pings(pairs, (a, ip) => ping(a, ip, o, 6))));
      return out;
    },
  );
}

async function restartStep(o: LabOptions, from: Pod, to: Pod, agent: LabAgent): Promise<RestartResult> {
  return o.log.step(
    `restart ${from.node.name}'s ovs-vswitchd while ${from.name} pings ${to.name} (${to.ip}); nnet-agent re-plugs the pods' NICs`,
    async () => {
      const r = await restartVswitchdWhilePinging({
        node: from.node.ovs,
        nodePodman: nodePodman(o, from.node),
        from: from.name,
        to: to.name,
        toIp: to.ip,
        metricsUrl: agent.metricsUrl,
        info: (l) => o.log.info(l),
      });
      for (const l of restartLines(r)) o.log.info(l);
      if (r.recoveryMs === undefined)
        throw new Error(`no ping reply within 30 s of the restart: ${from.name} did not recover`);
      return r;
    },
  );
}

export function restartLines(r: RestartResult): string[] {
  const s = (ms: number | undefined) => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(2)} s`);
  return [
    `ping ${r.from} → ${r.to}: ${r.sent} sent, ${r.received} received, ${r.lost} lost (every 100 ms)`,
    `recovery: first reply ${s(r.recoveryMs)} after the kill, ${s(r.afterStartMs)} after the new ovs-vswitchd started`,
    `nnet-agent on ${r.node}: nnet_replugs_total ${r.replugs.before ?? '?'} → ${r.replugs.after ?? '?'}`,
  ];
}

export async function labUp(o: LabOptions): Promise<LabResult> {
  if (!o.skipInstall) await installAndBuild(o);
  const ep = await startEnv(o, new StateFile(o.dir));
  await clearPrevious(o);
  // Read after the clean-up above, which rewrote the file.
  const state = new StateFile(o.dir);
  state.update((s) => {
    s.storeUrl = storeUrl(o, ep);
  });
  const { nodes, agents } = await startNodes(o, state, ep);
  const [node1, node2] = nodes as [LabNode, LabNode];
  await createNetworks(o, state, ep);
  const mk = (label: string, node: LabNode, subnet: string, ip: string, ip6: string): Pod => ({
    label,
    name: `${o.prefix}-${label === 'p1' ? 'pod1' : label}`,
    node,
    subnet,
    ip,
    ip6,
  });
  const p1 = mk('p1', node1, '1.2.0.0/16', '1.2.0.100', 'fd00:1::100');
  const p2 = mk('p2', node1, '1.2.0.0/16', '1.2.0.101', 'fd00:1::101');
  const p3 = mk('p3', node2, '192.168.10.0/24', '192.168.10.10', 'fd00:10::10');
  const p4 = mk('p4', node2, '1.2.0.0/16', '1.2.0.102', 'fd00:1::102');
  const pod1 = await experiment1(o, state, ep, p1);
  const pings = await experiment2(o, state, ep, [p1, p2, p3, p4]);
  const pool = await poolStep(o, state, ep, node1);
  const restart = await restartStep(o, p1, p4, agents[0]!);
  const k8s = await experiment3({
    prefix: o.prefix,
    dir: o.dir,
    network: networkName(o),
    nodes: [node1, node2],
    clients: [p1, p4],
    log: o.log,
    addPod: (p, args) => addPod(o, state, ep, p, args),
    nodePodman: (n) => nodePodman(o, n),
  });
  const isolation = await experiment4({
    prefix: o.prefix,
    cluster: clusterName(o),
    network: networkName(o),
    networks: labNames(o).network as [string, string],
    nodes: [node1, node2],
    client: p4,
    net2Peer: p3,
    log: o.log,
    addPod: (p, args, reserve) => addPod(o, state, ep, p, args, reserve),
    kubenetctl: (args) => kubenetctl(o, ep, args),
    openstack: async (args) => {
      o.log.info(`$ openstack ${typed(args)}`);
      const r = await run('/usr/bin/openstack', args, {
        env: { OS_CLIENT_CONFIG_FILE: ep.cloudsYaml, OS_CLOUD: ep.cloud },
        timeoutMs: 120_000,
      });
      return r.stdout;
    },
    nodePodman: (n) => nodePodman(o, n),
  });
  return { pod1, pings, pool, restart, k8s, isolation, agents, seconds: o.log.elapsedS() };
}

export function table2(pings: PingResult[]): string[] {
  const rows = [
    ['pair', 'family', 'destination', 'hosts', 'subnets', 'result', 'avg RTT'],
    ...pings.map((p) => [
      p.pair,
      p.family,
      p.toIp,
      p.hosts,
      p.subnets,
      p.ok ? 'PASS' : 'FAIL',
      p.rttMs === undefined ? '-' : `${p.rttMs.toFixed(3)} ms`,
    ]),
  ];
  return alignColumns(rows);
}

export interface DownReport {
  /** What was removed. */
  lines: string[];
  /** What could not be removed (empty: everything went). */
  left: Leftover[];
}

/** Every node podman store the lab has: those the state names, and any found under <dir>/podman. */
function podmanStores(o: LabOptions, state: StateFile): NodePodman[] {
  const nodes = new Map<string, string>();
  for (const c of state.state.containers) nodes.set(c.node, c.netns);
  const root = join(o.dir, 'podman');
  if (existsSync(root))
    for (const name of readdirSync(root))
      if (name.startsWith(`${o.prefix}-`) && !nodes.has(name)) nodes.set(name, name);
  return [...nodes].map(([node, netns]) =>
    nodePodman(o, { name: node, netns: existsSync(`/run/netns/${netns}`) ? netns : '' }),
  );
}

async function removeContainers(o: LabOptions, state: StateFile, report: DownReport): Promise<void> {
  for (const p of podmanStores(o, state)) {
    const r = await removeNodePodman(p, o.prefix);
    report.lines.push(...r.removed.map((x) => `removed ${x}`));
    report.left.push(...r.left);
    if (r.left.length === 0)
      state.update((s) => {
        s.containers = s.containers.filter((c) => c.node !== p.node);
      });
  }
}

async function removeNeutron(
  o: LabOptions,
  state: StateFile,
  envAlive: boolean,
  report: DownReport,
): Promise<void> {
  const cluster = clusterName(o);
  if (!envAlive) {
    if (state.state.neutronTouched)
      report.left.push({
        what: `the lab's Neutron resources (tagged nnet-cluster=${cluster}) and store keys (/${o.prefix}/…)`,
        why: 'the OpenStack environment is not running, so they could not be looked up and deleted',
        fix: 'npm run env:up',
      });
    return;
  }
  const ep = endpoints();
  try {
    const neutron = adminNeutron(ep.cloudsYaml, ep.cloud, join(o.dir, 'tokens-admin'));
    const r = await removeLabNeutron(neutron, {
      cluster,
      groupTag: labGroupTag(cluster),
      names: labNames(o),
      openstack: `OS_CLIENT_CONFIG_FILE=${ep.cloudsYaml} /usr/bin/openstack --os-cloud ${ep.cloud}`,
    });
    report.lines.push(...r.deleted.map((x) => `deleted Neutron ${x}`));
    report.left.push(...r.left);
  } catch (e) {
    report.left.push({
      what: `the lab's Neutron resources (tagged nnet-cluster=${cluster})`,
      why: `Neutron failed: ${e instanceof Error ? e.message : String(e)}`,
      fix: 'check the environment (bash scripts/env/status.sh)',
    });
  }
  if (await wipeEtcd(ep.etcd, `/${o.prefix}`))
    report.lines.push(`deleted the store's keys under /${o.prefix}/`);
  else
    report.left.push({
      what: `store keys under /${o.prefix}/ in etcd ${ep.etcd}`,
      why: 'etcd did not answer the delete',
      fix: `ETCDCTL_API=3 etcdctl --endpoints ${ep.etcd} del --prefix /${o.prefix}/`,
    });
}

export async function labDown(o: LabOptions, opts: { keepEnv?: boolean } = {}): Promise<DownReport> {
  const state = new StateFile(o.dir);
  const report: DownReport = { lines: [], left: [] };
  const envAlive = await envIsUp();
  // Containers first: their CNI DEL needs the node, its agent and the environment.
  await removeContainers(o, state, report);
  // Then the agents, so that no pool refill makes a port behind the Neutron clean-up.
  await stopAgents(state, report);
  await removeNeutron(o, state, envAlive, report);
  const nodes = await teardownNodes(state, envAlive ? endpoints().sbRemote : undefined);
  report.lines.push(...nodes.done);
  report.left.push(...nodes.left);
  state.update((s) => {
    s.agents = s.agents.filter((a) => s.pids.some((p) => p.pid === a.pid));
    if (report.left.length === 0) s.neutronTouched = false;
  });
  if (state.state.envStartedByLab && !opts.keepEnv) {
    await run('bash', [join(ROOT, 'scripts/env/down.sh')], { allowFail: true });
    state.update((s) => {
      s.envStartedByLab = false;
    });
    report.lines.push('stopped the OpenStack environment the lab had started');
  }
  if (!opts.keepEnv && report.left.length === 0) {
    const mounts = await mountsUnder(o.dir);
    if (mounts.length === 0) rmSync(o.dir, { recursive: true, force: true });
    else
      report.left.push({
        what: o.dir,
        why: `still mounted there: ${mounts.join(', ')}`,
        fix: `umount ${mounts.join(' ')}`,
      });
  }
  return report;
}

/** Stops the nodes' nnet-agents (by recorded PID); the other daemons go with the nodes. */
async function stopAgents(state: StateFile, report: DownReport): Promise<void> {
  for (const p of state.state.pids.filter((x) => x.label.endsWith('-nnet-agent'))) {
    if (!(await stopPid(p.pid, p.marker, 15_000))) continue;
    report.lines.push(`stopped ${p.label} (pid ${p.pid})`);
    state.update((s) => {
      s.pids = s.pids.filter((x) => x.pid !== p.pid);
    });
  }
}

/** Deletes every key under `${prefix}/` (the lab's store); false when etcd did not answer. */
async function wipeEtcd(etcd: string, prefix: string): Promise<boolean> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  // '0' follows '/' in byte order: [prefix/, prefix0) is exactly the keys under prefix/.
  try {
    const r = await fetch(`${etcd}/v3/kv/deleterange`, {
      method: 'POST',
      body: JSON.stringify({ key: b64(`${prefix}/`), range_end: b64(`${prefix}0`) }),
      signal: AbortSignal.timeout(10_000),
    });
    return r.ok;
  } catch {
    return false;
  }
}

export async function labStatus(o: LabOptions): Promise<string[]> {
  const s = new StateFile(o.dir).state;
  if (s.netns.length === 0 && s.containers.length === 0) return ['the lab is not running'];
  const agents: string[] = [];
  for (const a of s.agents) {
    const healthy = await fetch(a.metricsUrl.replace(/\/metrics$/, '/healthz'), {
      signal: AbortSignal.timeout(3_000),
    })
      .then((r) => r.ok)
      .catch(() => false);
    agents.push(
      `  ${a.node}: pid ${a.pid}, metrics ${a.metricsUrl} (${healthy ? 'answering' : 'NOT answering'}), log ${a.logFile}`,
    );
  }
  const containers: string[] = [];
  for (const p of podmanStores(o, new StateFile(o.dir))) {
    const r = await podman(p, ['ps', '-a', '--format', '{{.Names}} {{.Status}}'], { allowFail: true });
    for (const l of r.stdout.trim().split('\n').filter(Boolean)) containers.push(`  ${p.node}: ${l}`);
  }
  return [
    `nodes/chassis: ${s.chassis.join(', ') || '-'}`,
    `namespaces: ${s.netns.join(', ') || '-'}`,
    'containers (podman on each node):',
    ...(containers.length ? containers : ['  -']),
    'nnet-agent:',
    ...(agents.length ? agents : ['  -']),
    `processes: ${s.pids.map((p) => `${p.label}(${p.pid})`).join(', ') || '-'}`,
    `store: ${s.storeUrl ?? '-'}`,
  ];
}
