/**
 * Experiment 4, "pod isolation and more NICs" (issue 16), on the lab's two nodes with real
 * containers. A pod behind a restrictive security group: `guarded` (node 1) serves HTTP on 8080 and
 * 9090; its group admits TCP 8080 from the client pod and nothing else, and the node's own probes
 * through the cluster's node-access group. Then `kubenetctl set podnetwork` swaps its group, on the
 * running pod, for one that admits 9090 and ICMP instead. And a pod with two NICs: `twonic`
 * (node 1), eth0 on net1 and net1 on net2 with a static IP, pinging pods of both networks on node 2.
 * The groups are the user's, made with the OpenStack CLI (tagged `nnet-lab=<cluster>`, so `lab
 * down` finds them), not N-Net's.
 */

import type { K8sLab, K8sPod } from './k8s.ts';
import { podArgs, podNetns } from './k8s.ts';
import { IMAGE, runArgs } from './podman.ts';
import { inNetns } from './probes.ts';
import { sleep } from './sh.ts';
import { alignColumns } from './table.ts';

/** The tag on the lab's own security groups (N-Net's carry `nnet-cluster=<cluster>`). */
export const labGroupTag = (cluster: string) => `nnet-lab=${cluster}`;
export const isolationGroupNames = (prefix: string) => ({
  only8080: `${prefix}-only-8080`,
  icmp9090: `${prefix}-9090-icmp`,
});
const GUARDED_IP = '1.2.0.120';
const TWONIC = { eth0: '1.2.0.121', net1: '192.168.10.50' } as const;

export interface IsolationLab extends Pick<K8sLab, 'prefix' | 'network' | 'nodes' | 'log' | 'nodePodman'> {
  cluster: string;
  /** The Neutron networks: eth0's and the second NIC's. */
  networks: [string, string];
  /** The pod the group admits (node 2, net1), and a pod on net2 (node 2). */
  client: K8sPod;
  net2Peer: K8sPod;
  /** Reserves the pod (kubenetctl create podnetwork, plus `reserveArgs`) and starts its container. */
  addPod(p: K8sPod, podmanArgs: string[], reserveArgs: string[]): Promise<void>;
  kubenetctl(args: string[]): Promise<string>;
  /** The OpenStack CLI as the lab's user; returns stdout. */
  openstack(args: string[]): Promise<string>;
}

export interface FlowRow {
  flow: string;
  from: string;
  to: string;
  /** The pod's own groups when probed. */
  groups: string;
  expect: 'allowed' | 'denied';
  /** PASS when what happened is what the groups say. */
  result: 'PASS' | 'FAIL';
  observed: string;
}

export interface NicRow {
  what: string;
  from: string;
  to: string;
  result: 'PASS' | 'FAIL';
  observed: string;
}

export interface IsolationResult {
  guarded: string;
  twonic: string;
  before: FlowRow[];
  after: FlowRow[];
  /** From `set podnetwork` returning to the newly admitted flow connecting; undefined: never. */
  flippedAfterMs: number | undefined;
  /** The guarded pod's eth0 ifindex before and after `set podnetwork` (the same: no re-plug). */
  eth0Ifindex: [string, string];
  nics: NicRow[];
  /** The two-NIC pod's addresses and routes, as `ip` shows them inside it. */
  shown: string[];
}

interface Probe {
  ok: boolean;
  said: string;
}

async function tcp(ns: string, ip: string, port: number): Promise<Probe> {
  const r = await inNetns(ns, ['curl', '-sS', '-m', '3', `http://${ip}:${port}/`]);
  return r.code === 0
    ? { ok: true, said: `answered "${r.stdout.trim()}"` }
    : { ok: false, said: r.stderr.trim().replace(/^curl: /, '') || `curl exit ${r.code}` };
}

async function icmp(ns: string, ip: string, dev?: string): Promise<Probe> {
  const r = await inNetns(ns, ['ping', '-c', '3', '-i', '0.2', '-W', '1', ...(dev ? ['-I', dev] : []), ip]);
  const summary = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(r.stdout)?.[1];
  const said = summary
    ? `${summary[2]}/${summary[1]} replies${rtt ? `, avg ${rtt} ms` : ''}`
    : r.stderr.trim();
  return { ok: r.code === 0 && summary?.[2] === summary?.[1], said };
}

/** Allowed: retried for 30 s (OVN may drop a new flow's first packets). Denied: three tries a second apart, none through. */
async function expectFlow(expect: FlowRow['expect'], probe: () => Promise<Probe>) {
  if (expect === 'allowed') {
    const until = Date.now() + 30_000;
    for (;;) {
      const p = await probe();
      if (p.ok || Date.now() > until) return { result: p.ok ? 'PASS' : 'FAIL', observed: p.said } as const;
      await sleep(500);
    }
  }
  let last = '';
  for (let i = 0; i < 3; i++) {
    const p = await probe();
    if (p.ok) return { result: 'FAIL', observed: `got through: ${p.said}` } as const;
    last = p.said;
    await sleep(1000);
  }
  return { result: 'PASS', observed: `no connection: ${last}` } as const;
}

async function makeGroups(k: IsolationLab, clientIp: string) {
  const names = isolationGroupNames(k.prefix);
  const from = ['--remote-ip', `${clientIp}/32`];
  const create = async (name: string, desc: string) =>
    (
      await k.openstack([
        'security',
        'group',
        'create',
        name,
        '--description',
        desc,
        '--tag',
        labGroupTag(k.cluster),
        '-f',
        'value',
        '-c',
        'id',
      ])
    ).trim();
  const rule = (group: string, ...args: string[]) =>
    k.openstack([
      'security',
      'group',
      'rule',
      'create',
      '--ingress',
      ...args,
      ...from,
      group,
      '-f',
      'value',
      '-c',
      'id',
    ]);
  await create(names.only8080, `TCP 8080 from ${clientIp} only`);
  await rule(names.only8080, '--protocol', 'tcp', '--dst-port', '8080');
  await create(names.icmp9090, `TCP 9090 and ICMP from ${clientIp}`);
  await rule(names.icmp9090, '--protocol', 'tcp', '--dst-port', '9090');
  await rule(names.icmp9090, '--protocol', 'icmp');
  return names;
}

const twoServers = (name: string) => [
  'sh',
  '-c',
  `mkdir -p /www && echo "served by ${name}" > /www/index.html && httpd -p 8080 -h /www && exec httpd -f -p 9090 -h /www`,
];

async function flows(
  k: IsolationLab,
  guarded: K8sPod,
  clientNs: string,
  groups: string,
  open: 8080 | 9090,
): Promise<FlowRow[]> {
  const node1 = `/run/netns/${k.nodes[0].netns}`;
  const to = (port: number | 'ICMP') =>
    `${guarded.name} ${guarded.ip}${port === 'ICMP' ? ' (ping)' : `:${port}`}`;
  const from = `${k.client.name} (${k.client.node.name}, ${k.client.ip})`;
  const spec: [string, string, string, FlowRow['expect'], () => Promise<Probe>][] = [
    [
      'pod → TCP 8080',
      from,
      to(8080),
      open === 8080 ? 'allowed' : 'denied',
      () => tcp(clientNs, guarded.ip, 8080),
    ],
    [
      'pod → TCP 9090',
      from,
      to(9090),
      open === 9090 ? 'allowed' : 'denied',
      () => tcp(clientNs, guarded.ip, 9090),
    ],
    ['pod → ICMP', from, to('ICMP'), open === 9090 ? 'allowed' : 'denied', () => icmp(clientNs, guarded.ip)],
    [
      "node's probe → TCP 9090 (node-access group)",
      `${k.nodes[0].name} (host network)`,
      to(9090),
      'allowed',
      () => tcp(node1, guarded.ip, 9090),
    ],
  ];
  const out: FlowRow[] = [];
  for (const [flow, f, t, expect, probe] of spec)
    out.push({ flow, from: f, to: t, groups, expect, ...(await expectFlow(expect, probe)) });
  return out;
}

async function nicRows(
  k: IsolationLab,
  twonic: K8sPod,
  ns: string,
  peers: [K8sPod, string][],
): Promise<NicRow[]> {
  const [client, net2Peer] = [k.client, k.net2Peer];
  const [clientNs, net2PeerNs] = peers.map(([, n]) => n) as [string, string];
  const spec: [string, string, string, () => Promise<Probe>][] = [
    [
      'eth0 → a pod on network 1',
      `${twonic.name} eth0 ${TWONIC.eth0}`,
      `${client.name} ${client.ip} (${client.node.name})`,
      () => icmp(ns, client.ip, 'eth0'),
    ],
    [
      'net1 → a pod on network 2',
      `${twonic.name} net1 ${TWONIC.net1}`,
      `${net2Peer.name} ${net2Peer.ip} (${net2Peer.node.name})`,
      () => icmp(ns, net2Peer.ip, 'net1'),
    ],
    [
      'a pod on network 1 → eth0',
      `${client.name} ${client.ip}`,
      `${twonic.name} eth0 ${TWONIC.eth0}`,
      () => icmp(clientNs, TWONIC.eth0),
    ],
    [
      'a pod on network 2 → net1',
      `${net2Peer.name} ${net2Peer.ip}`,
      `${twonic.name} net1 ${TWONIC.net1}`,
      () => icmp(net2PeerNs, TWONIC.net1),
    ],
  ];
  const out: NicRow[] = [];
  for (const [what, from, to, probe] of spec) {
    const r = await expectFlow('allowed', probe);
    out.push({ what, from, to, ...r });
  }
  const routes = await inNetns(ns, ['ip', 'route', 'show']);
  const defaults = routes.stdout.split('\n').filter((l) => l.startsWith('default'));
  const viaEth0 = defaults.length === 1 && / dev eth0\b/.test(defaults[0]!);
  out.push({
    what: 'the default route',
    from: twonic.name,
    to: 'via eth0 only',
    result: viaEth0 ? 'PASS' : 'FAIL',
    observed: defaults.join('; ') || 'no default route',
  });
  const get = await inNetns(ns, ['ip', 'route', 'get', net2Peer.ip]);
  const line = get.stdout.split('\n')[0]!.trim();
  out.push({
    what: "network 2's subnet is routed by net1",
    from: twonic.name,
    to: net2Peer.ip,
    result: / dev net1\b/.test(line) ? 'PASS' : 'FAIL',
    observed: line || get.stderr.trim(),
  });
  return out;
}

export async function experiment4(k: IsolationLab): Promise<IsolationResult> {
  const [node1] = k.nodes;
  const [net1, net2] = k.networks;
  const guarded: K8sPod = {
    label: 'guarded',
    name: `${k.prefix}-guarded`,
    node: node1,
    subnet: '1.2.0.0/16',
    ip: GUARDED_IP,
  };
  const twonic: K8sPod = {
    label: 'twonic',
    name: `${k.prefix}-twonic`,
    node: node1,
    subnet: '1.2.0.0/16',
    ip: TWONIC.eth0,
  };
  const names = await k.log.step(
    `experiment 4: security groups (OpenStack CLI) admitting ${k.client.name} only; ${guarded.name} behind one of them, ${twonic.name} with a NIC on each network`,
    async () => {
      const g = await makeGroups(k, k.client.ip);
      await k.addPod(guarded, podArgs(k, guarded.name, [], IMAGE, twoServers(guarded.name)), [
        '--security-group',
        g.only8080,
      ]);
      await k.addPod(twonic, runArgs(twonic.name, k.network), [
        '--network',
        net1,
        '--network',
        `${net2}@${TWONIC.net1}`,
      ]);
      return g;
    },
  );
  const clientNs = await podNetns(k, k.client);
  const show = async (pod: string) => {
    for (const l of (await k.kubenetctl(['get', 'podnetworks', pod, '-n', 'default', '-o', 'wide']))
      .trimEnd()
      .split('\n'))
      k.log.info(l);
  };
  const before = await k.log.step(
    `experiment 4: probe ${guarded.name} behind ${names.only8080}`,
    async () => {
      await show(guarded.name);
      return flows(k, guarded, clientNs, names.only8080, 8080);
    },
  );
  const flip = await k.log.step(
    `experiment 4: kubenetctl set podnetwork ${guarded.name} --security-group ${names.icmp9090} on the running pod, probe again`,
    async () => {
      const guardedNs = await podNetns(k, guarded);
      const ifindex = async () =>
        (await inNetns(guardedNs, ['cat', '/sys/class/net/eth0/ifindex'])).stdout.trim();
      const ifindexBefore = await ifindex();
      await k.kubenetctl([
        'set',
        'podnetwork',
        guarded.name,
        '-n',
        'default',
        '--security-group',
        names.icmp9090,
      ]);
      const t0 = Date.now();
      let flippedAfterMs: number | undefined;
      while (Date.now() - t0 < 60_000) {
        if ((await tcp(clientNs, guarded.ip, 9090)).ok) {
          flippedAfterMs = Date.now() - t0;
          break;
        }
        await sleep(200);
      }
      await show(guarded.name);
      const rows = await flows(k, guarded, clientNs, names.icmp9090, 9090);
      return { flippedAfterMs, rows, eth0Ifindex: [ifindexBefore, await ifindex()] as [string, string] };
    },
  );
  const { nics, shown } = await k.log.step(
    `experiment 4: ${twonic.name}'s two NICs: pings on both networks, its routes`,
    async () => {
      const ns = await podNetns(k, twonic);
      const shown: string[] = [];
      for (const dev of ['eth0', 'net1']) {
        const a = await inNetns(ns, ['ip', '-o', '-4', 'addr', 'show', 'dev', dev]);
        shown.push(
          a.stdout
            .trim()
            .replace(/^\d+:\s*/, '')
            .replace(/\\.*$/, '')
            .replace(/\s+/g, ' ') || `${dev}: none`,
        );
      }
      shown.push(
        ...(await inNetns(ns, ['ip', 'route', 'show'])).stdout
          .trim()
          .split('\n')
          .map((l) => `route: ${l.trim()}`),
      );
      for (const l of shown) k.log.info(l);
      const peers: [K8sPod, string][] = [
        [k.client, clientNs],
        [k.net2Peer, await podNetns(k, k.net2Peer)],
      ];
      return { nics: await nicRows(k, twonic, ns, peers), shown };
    },
  );
  return {
    guarded: guarded.name,
    twonic: twonic.name,
    before,
    after: flip.rows,
    flippedAfterMs: flip.flippedAfterMs,
    eth0Ifindex: flip.eth0Ifindex,
    nics,
    shown,
  };
}

export function table4(r: IsolationResult): { flows: string[]; nics: string[] } {
  const flowRows = [...r.before, ...r.after];
  return {
    flows: alignColumns([
      ['#', 'flow', 'from', 'to', "the pod's group", 'expected', 'result', 'observed'],
      ...flowRows.map((f, i) => [
        String(i + 1),
        f.flow,
        f.from,
        f.to,
        f.groups,
        f.expect,
        f.result,
        f.observed,
      ]),
    ]),
    nics: alignColumns([
      ['#', 'what', 'from', 'to', 'result', 'observed'],
      ...r.nics.map((n, i) => [String(i + 1), n.what, n.from, n.to, n.result, n.observed]),
    ]),
  };
}

export function isolationPassed(r: IsolationResult): string {
  const rows = [...r.before, ...r.after, ...r.nics];
  return `${rows.filter((x) => x.result === 'PASS').length}/${rows.length}`;
}

export function isolationOk(r: IsolationResult): boolean {
  return (
    r.flippedAfterMs !== undefined &&
    r.eth0Ifindex[0] !== '' &&
    r.eth0Ifindex[0] === r.eth0Ifindex[1] &&
    [...r.before, ...r.after, ...r.nics].every((x) => x.result === 'PASS')
  );
}
