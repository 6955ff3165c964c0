/**
 * The pods the data-path measurements run between, one kind per compared plugin:
 * - N-Net (`internal` plug) and hybrid (Kuryr/os-vif layout) pods, added through libcni with the
 *   `nnet` plugin on real Neutron ports;
 * - the bare limit: Neutron ports on the same network, plugged by hand as OVS internal ports on the
 *   node's br-int (ovs-vsctl + ip), no N-Net involved;
 * - a Flannel-style reference with no OVS: veths into a kernel Linux bridge on a host namespace,
 *   and between two host namespaces (joined by their own veth underlay) a kernel VXLAN device with
 *   Flannel's L3 layout (a /24 per host, routes + static neighbour/FDB entries per peer).
 */
import { randomBytes } from 'node:crypto';
import type { LabNode } from '../lab/nodes.ts';
import { run, waitFor } from '../lab/sh.ts';
import { addNetns, type Bench, harnessCall, POD_NAMESPACE, PREFIX, type Runtime } from './cluster.ts';

export interface Endpoint {
  /** Pod name as the report shows it. */
  name: string;
  netns: string;
  ip: string;
}

/** Adds a pod through libcni; returns its address from the CNI result. */
export async function cniPod(b: Bench, rt: Runtime, name: string): Promise<Endpoint> {
  const netns = `${PREFIX}-p-${name}`;
  await addNetns(b, netns);
  const pod = { name, namespace: POD_NAMESPACE, containerId: randomBytes(16).toString('hex'), netns };
  b.record.update((d) => void d.pods.push({ ...pod, cniDir: rt.dir }));
  const r = await harnessCall(rt, 'add', pod);
  if (r.code !== 0)
    throw new Error(`CNI ADD of pod ${name} on ${rt.node.name} failed: ${r.stdout} ${r.stderr}`);
  const ip = (r.json?.ips as { address: string }[] | undefined)?.[0]?.address.split('/')[0];
  if (!ip) throw new Error(`CNI ADD of pod ${name} returned no IP: ${r.stdout}`);
  return { name, netns, ip };
}

/** Deletes the CNI pods this module added (DEL through libcni), keeping the netns for teardown. */
export async function delCniPods(b: Bench): Promise<number> {
  let failed = 0;
  for (const p of [...b.record.data.pods].reverse()) {
    const r = await harnessCall({ dir: p.cniDir }, 'del', p);
    if (r.code !== 0) failed++;
    else b.record.removePod(p.containerId);
  }
  return failed;
}

const vsctl = (node: LabNode, ...args: string[]) =>
  run('ovs-vsctl', [`--db=${node.ovsdbSocket}`, '--timeout=30', ...args]);

/**
 * The bare limit: a Neutron port bound to `node`, plugged as an OVS internal port by hand (what
 * N-Net's internal driver automates), moved into its own netns and addressed from Neutron.
 */
export async function barePod(b: Bench, node: LabNode, name: string): Promise<Endpoint> {
  const port = await b.admin.ports.create({
    networkId: b.network.id,
    name: `${PREFIX}-bare-${name}`,
    hostId: node.name,
    deviceOwner: 'compute:nnb-bare',
    deviceId: `${PREFIX}-bare-${name}`,
  });
  b.record.update((d) => void d.ports.push(port.id));
  const ip = port.fixedIps[0]!.ipAddress;
  const dev = `${PREFIX}bare${name}`.slice(0, 15);
  const netns = `${PREFIX}-bare-${name}`;
  const prefixLength = b.subnet.cidr.split('/')[1]!;
  await addNetns(b, netns);
  b.record.update((d) => void d.ovsPorts.push({ db: node.ovsdbSocket, name: dev }));
  await vsctl(
    node,
    '--',
    'add-port',
    'br-int',
    dev,
    '--',
    'set',
    'interface',
    dev,
    'type=internal',
    `external_ids:iface-id=${port.id}`,
    `external_ids:attached-mac=${port.macAddress}`,
    'external_ids:iface-status=active',
  );
  await waitFor(
    `tap ${dev} in ${node.netns}`,
    async () => (await run('ip', ['-n', node.netns, 'link', 'show', dev], { allowFail: true })).code === 0,
  );
  await run('ip', ['-n', node.netns, 'link', 'set', dev, 'netns', netns]);
  // eth0, as a pod's NIC is named
  await run('ip', ['-n', netns, 'link', 'set', dev, 'name', 'eth0']);
  await run('ip', [
    '-n',
    netns,
    'link',
    'set',
    'eth0',
    'address',
    port.macAddress,
    'mtu',
    String(b.network.mtu ?? 1442),
    'up',
  ]);
  await run('ip', ['-n', netns, 'addr', 'add', `${ip}/${prefixLength}`, 'dev', 'eth0']);
  if (b.subnet.gatewayIp)
    await run('ip', ['-n', netns, 'route', 'add', 'default', 'via', b.subnet.gatewayIp, 'dev', 'eth0']);
  return { name, netns, ip };
}

export interface FlannelHosts {
  /** host index (1|2) → netns */
  hosts: [string, string];
  mtu: number;
}

const FL_UNDERLAY = '100.64.19';
const flMac = (h: number) => `0a:58:64:13:00:0${h}`;

/**
 * Two Flannel-style hosts (netns) joined by a veth underlay; on each a Linux bridge (cni0) with the
 * host's pod /24 and a VXLAN device (flannel.1, VNI 1, port 8472) with routes, neighbour and FDB
 * entries for the other host, as flanneld's vxlan backend programs them.
 */
export async function flannelHosts(b: Bench, podMtu: number): Promise<FlannelHosts> {
  const hosts: [string, string] = [`${PREFIX}-fl1`, `${PREFIX}-fl2`];
  for (const h of hosts) await addNetns(b, h);
  const ul = (h: number) => `${PREFIX}ful${h}`;
  await run('ip', [
    'link',
    'add',
    ul(1),
    'netns',
    hosts[0],
    'mtu',
    '9000',
    'type',
    'veth',
    'peer',
    'name',
    ul(2),
    'netns',
    hosts[1],
    'mtu',
    '9000',
  ]);
  for (const h of [1, 2] as const) {
    const ns = hosts[h - 1]!;
    const other = 3 - h;
    const sh = (...a: string[]) => run('ip', ['-n', ns, ...a]);
    await sh('addr', 'add', `${FL_UNDERLAY}.${h}/24`, 'dev', ul(h));
    await sh('link', 'set', ul(h), 'up');
    await run('sysctl', ['-qw', 'net.ipv4.ip_forward=1'], { netns: ns });
    const br = `${PREFIX}cni0`;
    await sh('link', 'add', br, 'type', 'bridge');
    await sh('addr', 'add', `10.244.${h}.1/24`, 'dev', br);
    await sh('link', 'set', br, 'mtu', String(podMtu), 'up');
    const vx = `${PREFIX}flannel`;
    await sh(
      'link',
      'add',
      vx,
      'address',
      flMac(h),
      'mtu',
      '8950',
      'type',
      'vxlan',
      'id',
      '1',
      'local',
      `${FL_UNDERLAY}.${h}`,
      'dev',
      ul(h),
      'dstport',
      '8472',
      'nolearning',
    );
    await sh('addr', 'add', `10.244.${h}.0/32`, 'dev', vx);
    await sh('link', 'set', vx, 'up');
    await sh('route', 'add', `10.244.${other}.0/24`, 'via', `10.244.${other}.0`, 'dev', vx, 'onlink');
    await sh('neigh', 'replace', `10.244.${other}.0`, 'lladdr', flMac(other), 'dev', vx, 'nud', 'permanent');
    await run('bridge', ['fdb', 'append', flMac(other), 'dev', vx, 'dst', `${FL_UNDERLAY}.${other}`], {
      netns: ns,
    });
  }
  return { hosts, mtu: podMtu };
}

/** A Flannel-style pod: a veth from the host's bridge into its own netns, host-local address `.n`. */
export async function flannelPod(b: Bench, fl: FlannelHosts, host: 1 | 2, n: number, name: string) {
  const hostNs = fl.hosts[host - 1]!;
  const netns = `${PREFIX}-flp-${name}`;
  await addNetns(b, netns);
  const hostEnd = `${PREFIX}fv${name}`.slice(0, 15);
  await run('ip', [
    '-n',
    hostNs,
    'link',
    'add',
    hostEnd,
    'mtu',
    String(fl.mtu),
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    netns,
  ]);
  await run('ip', ['-n', hostNs, 'link', 'set', hostEnd, 'master', `${PREFIX}cni0`, 'up']);
  const ip = `10.244.${host}.${n}`;
  await run('ip', ['-n', netns, 'link', 'set', 'eth0', 'mtu', String(fl.mtu), 'up']);
  await run('ip', ['-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  await run('ip', ['-n', netns, 'route', 'add', 'default', 'via', `10.244.${host}.1`]);
  return { name, netns, ip } satisfies Endpoint;
}
