/**
 * The two-node lab: real Keystone + Neutron (ML2/OVN) + etcd, two nodes (each a netns with its own
 * ovsdb-server, ovs-vswitchd and ovn-controller), the nnet plugin installed on each node with the
 * etcd store, and the paper's experiments 1 and 2 — network side through kubenetctl, kubelet side
 * through libcni on each node.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLabNodes, type LabNode, teardownNodes } from './nodes.ts';
import { run, waitFor } from './sh.ts';
import { StateFile } from './state.ts';
import type { StepLog } from './steps.ts';

export const ROOT = join(import.meta.dirname, '..');

export interface LabOptions {
  /** Prefix of every namespace, device, Neutron name and store key the lab makes. */
  prefix: string;
  /** Where the lab keeps its state. */
  dir: string;
  /** First three octets of the underlay /24 (nodes get .1, .2). */
  underlay: string;
  log: StepLog;
  /** Skip install/build (the test suite has done them). */
  skipInstall?: boolean;
}

export const DEFAULT_LAB: Omit<LabOptions, 'log'> = {
  prefix: 'nnl',
  dir: join(ROOT, '.lab/lab'),
  underlay: '100.64.0',
};

interface Endpoints {
  sbRemote: string;
  nbRemote: string;
  cloudsYaml: string;
  cloud: string;
  etcd: string;
}

function endpoints(): Endpoints {
  const ep = JSON.parse(readFileSync(join(ROOT, '.lab/env/openstack/endpoints.json'), 'utf8'));
  return {
    sbRemote: ep.ovn_sb,
    nbRemote: ep.ovn_nb,
    cloudsYaml: ep.clouds_yaml,
    cloud: ep.cloud,
    etcd: 'http://127.0.0.1:2379',
  };
}

export interface PingResult {
  pair: string;
  from: string;
  to: string;
  toIp: string;
  hosts: 'same host' | 'different hosts';
  subnets: 'same subnet' | 'different subnets';
  ok: boolean;
  rttMs: number | undefined;
}

export interface LabResult {
  pod1: { ip: string; node: string; status: string; eth0: string };
  pings: PingResult[];
  seconds: number;
}

interface Pod {
  name: string;
  node: LabNode;
  subnet: string;
  ip: string;
  netns: string;
  containerId: string;
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

const storeUrl = (o: LabOptions, ep: Endpoints) => `etcd:${ep.etcd}?prefix=/${o.prefix}`;
const clusterName = (o: LabOptions) => `${o.prefix}-cluster`;

/** kubenetctl, echoed to the progress output as a person would type it. */
async function kubenetctl(o: LabOptions, ep: Endpoints, args: string[], show = true): Promise<string> {
  if (show) o.log.info(`$ kubenetctl ${args.join(' ')}`);
  const r = await ctl(o, ep, args);
  return r.stdout;
}

function harness(
  o: LabOptions,
  node: LabNode,
  verb: 'add' | 'del',
  pod: Pick<Pod, 'name' | 'netns' | 'containerId'>,
) {
  const cni = join(o.dir, node.name, 'cni');
  return run(join(ROOT, 'test/harness/bin/nnet-cni-harness'), [
    `-confdir=${join(cni, 'net.d')}`,
    `-bindir=${join(cni, 'bin')}`,
    `-cachedir=${join(cni, 'cache')}`,
    `-id=${pod.containerId}`,
    `-netns=/run/netns/${pod.netns}`,
    '-ifname=eth0',
    `-args=K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.name}`,
    verb,
  ]);
}

function installPlugin(o: LabOptions, ep: Endpoints, node: LabNode): void {
  const cni = join(o.dir, node.name, 'cni');
  for (const d of ['bin', 'net.d', 'cache']) mkdirSync(join(cni, d), { recursive: true });
  copyFileSync(join(ROOT, 'dist/nnet.js'), join(cni, 'bin/nnet'));
  const conflist = {
    cniVersion: '1.0.0',
    name: 'nnet',
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
      },
    ],
  };
  writeFileSync(join(cni, 'net.d/10-nnet.conflist'), `${JSON.stringify(conflist, null, 2)}\n`);
}

async function ping(from: Pod, to: Pod): Promise<{ ok: boolean; rttMs: number | undefined }> {
  // The first packets may be lost while OVN learns the path: retry for a few seconds.
  const deadline = Date.now() + 15_000;
  let last = '';
  while (Date.now() < deadline) {
    const r = await run('ping', ['-c', '3', '-i', '0.2', '-W', '1', to.ip], {
      netns: from.netns,
      allowFail: true,
    });
    last = r.stdout;
    if (r.code === 0 && / 0% packet loss/.test(r.stdout)) {
      const m = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
      return { ok: true, rttMs: m ? Number(m[1]) : undefined };
    }
  }
  return { ok: !!last && !/100% packet loss/.test(last), rttMs: undefined };
}

export async function labUp(o: LabOptions): Promise<LabResult> {
  const previous = new StateFile(o.dir).state;
  if (previous.netns.length > 0 || previous.pods.length > 0) {
    await o.log.step('remove the previous lab run (the environment stays up)', () =>
      labDown(o, { keepEnv: true }),
    );
  }
  // Read after the clean-up above, which rewrote the file.
  const state = new StateFile(o.dir);
  if (!o.skipInstall) {
    await o.log.step('install Debian and npm packages (idempotent)', () =>
      run('bash', [join(ROOT, 'scripts/install-deps.sh')], { timeoutMs: 1_200_000 }),
    );
    await o.log.step('build nnet, kubenetctl, nnet-agent', () =>
      run('npm', ['run', '-s', 'build'], { env: { npm_config_loglevel: 'error' } }),
    );
    await o.log.step('build the libcni harness (the CNI runtime each node uses)', () =>
      run('bash', [join(ROOT, 'test/harness/build.sh')]),
    );
  }
  const envUp =
    (await run('bash', [join(ROOT, 'scripts/env/status.sh')], { allowFail: true, env: { QUIET: '1' } }))
      .code === 0;
  if (!envUp)
    state.update((s) => {
      s.envStartedByLab = true;
    });
  await o.log.step(
    envUp
      ? 'OpenStack environment already up: reuse it'
      : 'start Keystone, Neutron (ML2/OVN), OVN central, MariaDB, etcd',
    () =>
      run('bash', [join(ROOT, 'scripts/env/up.sh')], { env: { NNET_SKIP_INSTALL: '1' }, timeoutMs: 300_000 }),
  );
  const ep = endpoints();
  state.update((s) => {
    s.storeUrl = storeUrl(o, ep);
  });

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
  const [node1, node2] = nodes as [LabNode, LabNode];

  await o.log.step('install the nnet plugin and its conflist on each node (etcd store)', async () => {
    for (const n of nodes) installPlugin(o, ep, n);
  });

  const cluster = clusterName(o);
  const net1 = `${o.prefix}-net1`;
  const net2 = `${o.prefix}-net2`;
  await o.log.step(
    `register cluster ${cluster}'s Keystone identity; create networks, subnets and a router`,
    async () => {
      await kubenetctl(o, ep, [
        'create',
        'cluster',
        cluster,
        '--cloud',
        ep.cloud,
        '--clouds-file',
        ep.cloudsYaml,
      ]);
      await kubenetctl(o, ep, ['create', 'network', net1]);
      await kubenetctl(o, ep, [
        'create',
        'subnet',
        `${o.prefix}-sub1`,
        '--network',
        net1,
        '--cidr',
        '1.2.0.0/16',
      ]);
      await kubenetctl(o, ep, ['create', 'network', net2]);
      await kubenetctl(o, ep, [
        'create',
        'subnet',
        `${o.prefix}-sub2`,
        '--network',
        net2,
        '--cidr',
        '192.168.10.0/24',
      ]);
      await kubenetctl(o, ep, ['create', 'router', `${o.prefix}-router`]);
      await kubenetctl(o, ep, ['connect', 'router', `${o.prefix}-router`, '--subnet', `${o.prefix}-sub1`]);
      await kubenetctl(o, ep, ['connect', 'router', `${o.prefix}-router`, '--subnet', `${o.prefix}-sub2`]);
    },
  );

  const mkPod = (name: string, node: LabNode, subnet: string, ip: string): Pod => ({
    name,
    node,
    subnet,
    ip,
    netns: `${o.prefix}-pod-${name}`,
    containerId: randomBytes(16).toString('hex'),
  });
  const addPod = async (p: Pod) => {
    await kubenetctl(o, ep, [
      'create',
      'podnetwork',
      p.name,
      '-n',
      'default',
      '--subnet',
      p.subnet,
      '--ip',
      p.ip,
    ]);
    o.log.info(`(kubelet on ${p.node.name}) create netns ${p.netns}, CNI ADD through libcni`);
    await run('ip', ['netns', 'add', p.netns]);
    state.update((s) => {
      s.netns.push(p.netns);
      s.pods.push({
        name: p.name,
        namespace: 'default',
        node: p.node.name,
        containerId: p.containerId,
        netns: p.netns,
      });
    });
    await run('ip', ['-n', p.netns, 'link', 'set', 'lo', 'up']);
    await harness(o, p.node, 'add', p);
  };

  // Experiment 1: a pod with a chosen subnet and a static IP.
  const pod1 = mkPod('pod1', node1, '1.2.0.0/16', '1.2.0.100');
  const exp1 = await o.log.step('experiment 1: pod1 with subnet 1.2.0.0/16 and IP 1.2.0.100', async () => {
    await addPod(pod1);
    let row: Record<string, unknown> | undefined;
    await waitFor(
      'pod1 port ACTIVE',
      async () => {
        const list = JSON.parse(
          await kubenetctl(o, ep, ['get', 'podnetworks', '-n', 'default', '-o', 'json'], false),
        );
        row = (list.items as Record<string, unknown>[]).find((i) => JSON.stringify(i).includes('"pod1"'));
        return JSON.stringify(row ?? {}).includes('ACTIVE');
      },
      30_000,
    );
    const table = await kubenetctl(o, ep, ['get', 'podnetworks', '-n', 'default', '-o', 'wide']);
    for (const l of table.trimEnd().split('\n')) o.log.info(l);
    const eth0 = (await run('ip', ['-br', 'addr', 'show', 'eth0'], { netns: pod1.netns })).stdout.trim();
    o.log.info(`$ ip -n ${pod1.netns} -br addr show eth0`);
    o.log.info(eth0);
    return {
      ip: pod1.ip,
      node: node1.name,
      status: JSON.stringify(row).includes('ACTIVE') ? 'ACTIVE' : 'unknown',
      eth0,
    };
  });

  // Experiment 2: connectivity across hosts and subnets (the paper's Table 2).
  const p1 = pod1;
  const p2 = mkPod('p2', node1, '1.2.0.0/16', '1.2.0.101');
  const p3 = mkPod('p3', node2, '192.168.10.0/24', '192.168.10.10');
  const p4 = mkPod('p4', node2, '1.2.0.0/16', '1.2.0.102');
  const pings = await o.log.step(
    'experiment 2: p1 (=pod1), p2 on node 1; p3, p4 on node 2; routed subnets',
    async () => {
      for (const p of [p2, p3, p4]) await addPod(p);
      const pairs: [Pod, Pod][] = [
        [p1, p2],
        [p4, p3],
        [p1, p4],
        [p1, p3],
      ];
      const out: PingResult[] = [];
      for (const [a, b] of pairs) {
        const r = await ping(a, b);
        out.push({
          pair: `${a === pod1 ? 'p1' : a.name} → ${b.name}`,
          from: a.name,
          to: b.name,
          toIp: b.ip,
          hosts: a.node === b.node ? 'same host' : 'different hosts',
          subnets: a.subnet === b.subnet ? 'same subnet' : 'different subnets',
          ok: r.ok,
          rttMs: r.rttMs,
        });
      }
      return out;
    },
  );
  return { pod1: exp1, pings, seconds: o.log.elapsedS() };
}

export function table2(pings: PingResult[]): string[] {
  const rows = [
    ['pair', 'destination', 'hosts', 'subnets', 'result', 'avg RTT'],
    ...pings.map((p) => [
      p.pair,
      p.toIp,
      p.hosts,
      p.subnets,
      p.ok ? 'PASS' : 'FAIL',
      p.rttMs === undefined ? '-' : `${p.rttMs.toFixed(3)} ms`,
    ]),
  ];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(w[i]!))
      .join('   ')
      .trimEnd(),
  );
}

export async function labDown(o: LabOptions, opts: { keepEnv?: boolean } = {}): Promise<string[]> {
  const state = new StateFile(o.dir);
  const done: string[] = [];
  const envAlive =
    (await run('bash', [join(ROOT, 'scripts/env/status.sh')], { allowFail: true, env: { QUIET: '1' } }))
      .code === 0;
  if (envAlive && existsSync(join(ROOT, 'dist/kubenetctl.js'))) {
    const ep = endpoints();
    // Kubelet side first: DEL every pod through its node's plugin, then release network config.
    for (const p of [...state.state.pods].reverse()) {
      const node = { name: p.node } as LabNode;
      await harness(o, node, 'del', { name: p.name, netns: p.netns, containerId: p.containerId }).catch(
        () => undefined,
      );
      state.update((s) => {
        s.pods = s.pods.filter((x) => x.containerId !== p.containerId);
      });
      done.push(`CNI DEL ${p.name}`);
    }
    const quiet = (args: string[]) => ctl(o, ep, args).catch(() => undefined);
    for (const pod of ['pod1', 'p2', 'p3', 'p4']) await quiet(['delete', 'podnetwork', pod, '-n', 'default']);
    await quiet(['disconnect', 'router', `${o.prefix}-router`, '--subnet', `${o.prefix}-sub1`]);
    await quiet(['disconnect', 'router', `${o.prefix}-router`, '--subnet', `${o.prefix}-sub2`]);
    await quiet(['delete', 'router', `${o.prefix}-router`]);
    await quiet(['delete', 'subnet', `${o.prefix}-sub1`]);
    await quiet(['delete', 'subnet', `${o.prefix}-sub2`]);
    await quiet(['delete', 'network', `${o.prefix}-net1`]);
    await quiet(['delete', 'network', `${o.prefix}-net2`]);
    await quiet(['delete', 'cluster', clusterName(o)]);
    done.push('released Neutron resources and store records');
    await wipeEtcd(ep.etcd, `/${o.prefix}`).catch(() => undefined);
    done.push(...(await teardownNodes(state, ep.sbRemote)));
  } else {
    done.push(...(await teardownNodes(state, undefined)));
  }
  if (state.state.envStartedByLab && !opts.keepEnv) {
    await run('bash', [join(ROOT, 'scripts/env/down.sh')], { allowFail: true });
    state.update((s) => {
      s.envStartedByLab = false;
    });
    done.push('stopped the OpenStack environment the lab had started');
  }
  if (!opts.keepEnv) rmSync(o.dir, { recursive: true, force: true });
  return done;
}

/** Deletes every key under `${prefix}/` (the lab's store). */
async function wipeEtcd(etcd: string, prefix: string): Promise<void> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  // '0' follows '/' in byte order: [prefix/, prefix0) is exactly the keys under prefix/.
  await fetch(`${etcd}/v3/kv/deleterange`, {
    method: 'POST',
    body: JSON.stringify({ key: b64(`${prefix}/`), range_end: b64(`${prefix}0`) }),
  });
}

export async function labStatus(o: LabOptions): Promise<string[]> {
  const state = new StateFile(o.dir);
  const s = state.state;
  if (s.netns.length === 0) return ['the lab is not running'];
  return [
    `nodes/chassis: ${s.chassis.join(', ') || '-'}`,
    `namespaces: ${s.netns.join(', ')}`,
    `pods: ${s.pods.map((p) => `${p.name}@${p.node}`).join(', ') || '-'}`,
    `processes: ${s.pids.map((p) => `${p.label}(${p.pid})`).join(', ')}`,
    `store: ${s.storeUrl ?? '-'}`,
  ];
}
