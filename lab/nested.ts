/**
 * `npm run lab -- nested`: Kubernetes nodes that are OpenStack VMs (nested mode, `plugDriver:
 * vlan`). A lab of its own beside the main one (prefix `<prefix>n`, dir `<dir>-nested`, the next
 * underlay /24), so both can run at once and `lab down` removes both:
 *
 * - two lab nodes as in the main lab: node 1 is the **hypervisor** (OVS + ovn-controller, an OVN
 *   chassis), node 2 a bare-metal Kubernetes node with pods of its own;
 * - two **VMs** on node 1: each a netns whose NIC `eth0` is its Neutron trunk parent port, made with
 *   the OpenStack CLI as Nova would (bound to node 1, `compute:nova`) and plugged on node 1's br-int
 *   as os-vif plugs a VM's tap. VM 2 has a second NIC, a plain Neutron port with its IP;
 * - in each VM the nnet plugin in nested mode and its own nnet-agent, which talk to the Neutron API
 *   only, and podman running the pods. This machine's kernel has no 802.1Q devices, so each VM
 *   untags its pods' VLANs with an OVS of its own (`nested.vlanDevice: ovs`); where the kernel has
 *   them, `vlanDevice: kernel` makes 802.1Q devices instead;
 * - experiment 1 in a VM (the pod keeps its static 1.2.0.100 on a trunk subport), and the paper's
 *   connectivity matrix among nested pods, with a bare-metal pod and the plain port;
 * - probes and a ClusterIP Service from the VMs' own netns through each VM's own port (a subport
 *   too), with a STAND-IN for kube-proxy (lab/kube-proxy-standin.ts) in each VM.
 */
import { join } from 'node:path';
import { startAgent } from './agent.ts';
import { labGroupTag } from './isolation.ts';
import { applyStandin } from './kube-proxy-standin.ts';
import {
  addPod,
  clearPrevious,
  clusterName,
  createNetworks,
  type Endpoints,
  experiment1,
  installAndBuild,
  installPlugin,
  type LabOptions,
  type LabResult,
  nodePodman,
  type Pod,
  type PodHost,
  ping,
  pingUntilClean,
  podmanOn,
  startEnv,
  startNodes,
  typed,
} from './lab.ts';
import type { LabNode } from './nodes.ts';
import { stateRecorder } from './nodes.ts';
import { type NodeRecorder, type OvsNode, startOvsNode } from './ovs-node.ts';
import { busyboxTarball, importImage } from './podman.ts';
import { httpFrom } from './probes.ts';
import { run, waitFor } from './sh.ts';
import { StateFile } from './state.ts';
import { alignColumns } from './table.ts';

/** The nested lab's options: its own prefix, dir and underlay next to the main lab's. */
export function nestedLabOptions<T extends Omit<LabOptions, 'log'>>(o: T): T {
  const [a, b, c] = o.underlay.split('.');
  return {
    ...o,
    prefix: `${o.prefix}n`,
    dir: `${o.dir}-nested`,
    underlay: `${a}.${b}.${(Number(c) + 1) % 256}`,
  };
}

/** A VM on the hypervisor: its netns and OVS, its NIC's Neutron port and the trunk on it. */
interface Vm extends PodHost {
  ovs: OvsNode;
  parentPort: string;
  trunk: string;
}

export interface NestedRow {
  pair: string;
  from: string;
  to: string;
  toIp: string;
  where: string;
  subnets: 'same subnet' | 'different subnets';
  ok: boolean;
  rttMs: number | undefined;
}

export interface NestedSubport {
  pod: string;
  vm: string;
  ip: string;
  port: string;
  deviceOwner: string;
  vlan: number | undefined;
  status: string;
}

/** A probe or Service row of the VMs (their own ports on the pod network carry them). */
export interface NestedServiceRow {
  what: string;
  from: string;
  to: string;
  ok: boolean;
  detail: string;
}

export interface NestedResult {
  pod1: LabResult['pod1'] & { vlan: number | undefined };
  rows: NestedRow[];
  services: NestedServiceRow[];
  subports: NestedSubport[];
  vms: { name: string; trunk: string; parentPort: string; agentPid: number }[];
  seconds: number;
}

async function openstack(o: LabOptions, ep: Endpoints, args: string[], show = true): Promise<string> {
  if (show) o.log.info(`$ openstack ${typed(args)}`);
  const r = await run('/usr/bin/openstack', args, {
    env: { OS_CLIENT_CONFIG_FILE: ep.cloudsYaml, OS_CLOUD: ep.cloud },
    timeoutMs: 120_000,
  });
  return r.stdout;
}

const json = async (p: Promise<string>) => JSON.parse(await p) as Record<string, unknown>;

/** A port as Nova makes a VM's: bound to the hypervisor, owned by the instance, tagged as the lab's. */
async function vmPort(
  o: LabOptions,
  ep: Endpoints,
  name: string,
  network: string,
  hv: LabNode,
): Promise<{ id: string; mac: string; ip: string }> {
  const p = await json(
    openstack(o, ep, [
      'port',
      'create',
      '--network',
      network,
      '--host',
      hv.name,
      '--device-owner',
      'compute:nova',
      '--device',
      name,
      '--tag',
      labGroupTag(clusterName(o)),
      '-f',
      'json',
      name,
    ]),
  );
  const ips = p.fixed_ips as { ip_address: string }[] | string;
  const ip =
    typeof ips === 'string' ? (/ip_address='([^']+)'/.exec(ips)?.[1] ?? '') : (ips[0]?.ip_address ?? '');
  return { id: String(p.id), mac: String(p.mac_address), ip };
}

/**
 * A VM on hypervisor `hv`: a netns with an OVS of its own (no OVN) whose NIC `eth0` is `port`,
 * plugged on `hv` as Nova would. The VM's bridge carries its pods' VLANs on eth0 (`vlanDevice:
 * ovs`: this machine's kernel has no 802.1Q devices). Shared with the benchmark (bench/vms.ts).
 */
export async function startVmNode(o: {
  name: string;
  prefix: string;
  dir: string;
  record: NodeRecorder;
  /** The hypervisor's OVS (an OVN chassis). */
  hv: OvsNode;
  port: { id: string; mac: string };
  mtu: number;
}): Promise<OvsNode> {
  const ovs = await startOvsNode({ name: o.name, prefix: o.prefix, dir: o.dir, record: o.record });
  await plugVmNic(o.hv, o.port, ovs.netnsName, 'eth0', o.mtu);
  ovs.vsctl('add-port', 'br-int', 'eth0', '--', 'set', 'Interface', 'eth0', 'type=system');
  return ovs;
}

/**
 * As os-vif plugs a VM's port on the hypervisor: an internal port with the port's iface-id (no
 * N-Net ids, so the hypervisor's own agent leaves it alone), its tap moved into the VM's netns as
 * `ifname`.
 */
export async function plugVmNic(
  hv: OvsNode,
  port: { id: string; mac: string },
  vmNetns: string,
  ifname: string,
  mtu: number,
  cidr?: string,
): Promise<void> {
  const tap = `tap${port.id.slice(0, 11)}`;
  hv.vsctl(
    'add-port',
    'br-int',
    tap,
    '--',
    'set',
    'Interface',
    tap,
    'type=internal',
    `external_ids:iface-id=${port.id}`,
    `external_ids:attached-mac=${port.mac}`,
    'external_ids:iface-status=active',
  );
  await waitFor(`the tap ${tap} on ${hv.name}`, async () => hv.exec(['ip', 'link', 'show', tap]).code === 0);
  await run('ip', ['-n', hv.netnsName, 'link', 'set', tap, 'netns', vmNetns]);
  await run('ip', ['-n', vmNetns, 'link', 'set', tap, 'name', ifname]);
  await run('ip', ['-n', vmNetns, 'link', 'set', ifname, 'address', port.mac, 'mtu', String(mtu), 'up']);
  if (cidr) await run('ip', ['-n', vmNetns, 'addr', 'add', cidr, 'dev', ifname]);
}

async function startVm(
  o: LabOptions,
  state: StateFile,
  ep: Endpoints,
  hv: LabNode,
  index: number,
  network: string,
  mtu: number,
  opts: { secondNic?: boolean } = {},
): Promise<Vm & { agentPid: number; eth1?: { id: string; mac: string; ip: string } }> {
  const name = `${o.prefix}-vm${index}`;
  const port = await vmPort(o, ep, `${name}-eth0`, network, hv);
  const trunk = `${name}-trunk`;
  await openstack(o, ep, ['network', 'trunk', 'create', '--parent-port', port.id, trunk]);
  const ovs = await startVmNode({
    name,
    prefix: o.prefix,
    dir: join(o.dir, name),
    record: stateRecorder(state),
    hv: hv.ovs,
    port,
    mtu,
  });
  const vm = { name, netns: ovs.netnsName, ovs, parentPort: port.id, trunk };
  // A second NIC, as the VM boots with it: a plain Neutron port on the pods' network, its address
  // in the VM (N-Net's policy routes keep its traffic on it, the node port's on the node port).
  let eth1: { id: string; mac: string; ip: string } | undefined;
  if (opts.secondNic) {
    eth1 = await vmPort(o, ep, `${name}-eth1`, network, hv);
    await plugVmNic(hv.ovs, eth1, ovs.netnsName, 'eth1', mtu, `${eth1.ip}/16`);
    o.log.info(`${name}: eth1 = port ${eth1.id}, ${eth1.ip}/16 (a plain port on ${network})`);
  }
  const conflist = installPlugin(
    o,
    ep,
    { name, netns: ovs.netnsName, ovsdbSocket: `unix:${ovs.ovsdbSocket}` },
    { nic: 'eth0', vlanDevice: 'ovs' },
  );
  const agent = await startAgent(state, name, conflist, ovs.dir);
  o.log.info(
    `${name}: netns ${ovs.netnsName}, NIC eth0 = port ${port.id} (trunk ${trunk}), ${conflist}, nnet-agent pid ${agent.pid}`,
  );
  await importImage(nodePodman(o, vm), busyboxTarball(o.dir));
  return { ...vm, agentPid: agent.pid, ...(eth1 ? { eth1 } : {}) };
}

/** Pings from a netns that is not a container's (the VM's own, through its second NIC). */
async function pingFromNetns(netns: string, ip: string): Promise<{ ok: boolean; rttMs: number | undefined }> {
  const { ok, rttMs } = await pingUntilClean(() =>
    run('ip', ['netns', 'exec', netns, 'ping', '-c', '3', '-i', '0.2', '-W', '1', ip], { allowFail: true }),
  );
  return { ok, rttMs };
}

/** Each nested pod's Neutron port and its VLAN on its VM's trunk, as the OpenStack CLI shows them. */
async function subports(
  o: LabOptions,
  ep: Endpoints,
  pods: Pod<Vm>[],
  network: (p: Pod<Vm>) => string,
): Promise<NestedSubport[]> {
  const trunks = new Map<string, { port_id: string; segmentation_id: number }[]>();
  for (const vm of new Set(pods.map((p) => p.node))) {
    const t = await json(openstack(o, ep, ['network', 'trunk', 'show', vm.trunk, '-f', 'json']));
    trunks.set(vm.trunk, t.sub_ports as { port_id: string; segmentation_id: number }[]);
  }
  const out: NestedSubport[] = [];
  for (const p of pods) {
    const list = JSON.parse(
      await openstack(
        o,
        ep,
        [
          'port',
          'list',
          '--network',
          network(p),
          '--fixed-ip',
          `ip-address=${p.ip}`,
          '-f',
          'json',
          '-c',
          'ID',
        ],
        false,
      ),
    ) as { ID: string }[];
    const id = list[0]?.ID ?? '';
    const port = id ? await json(openstack(o, ep, ['port', 'show', id, '-f', 'json'], false)) : {};
    out.push({
      pod: p.name,
      vm: p.node.name,
      ip: p.ip,
      port: id || 'none',
      deviceOwner: String(port.device_owner ?? '-'),
      vlan: trunks.get(p.node.trunk)?.find((s) => s.port_id === id)?.segmentation_id,
      status: String(port.status ?? '-'),
    });
  }
  return out;
}

export async function nestedUp(o: LabOptions): Promise<NestedResult> {
  if (!o.skipInstall) await installAndBuild(o);
  const ep = await startEnv(o, new StateFile(o.dir));
  await clearPrevious(o);
  const state = new StateFile(o.dir);
  const { nodes } = await startNodes(o, state, ep);
  const [hv, metal] = nodes as [LabNode, LabNode];
  await createNetworks(o, state, ep, { ipv6: false });
  const [net1, net2] = [`${o.prefix}-net1`, `${o.prefix}-net2`];
  const mtu = Number(
    (await openstack(o, ep, ['network', 'show', net1, '-f', 'value', '-c', 'mtu'], false)).trim(),
  );
  const vms = await o.log.step(
    `two VMs on ${hv.name} (the hypervisor): each a netns whose NIC is its trunk parent port, with nnet in nested mode and its own nnet-agent; ${o.prefix}-vm2 with a second NIC, a plain Neutron port on ${net1}`,
    async () => [
      await startVm(o, state, ep, hv, 1, net1, mtu),
      await startVm(o, state, ep, hv, 2, net1, mtu, { secondNic: true }),
    ],
  );
  const [vm1, vm2] = vms as [(typeof vms)[number], (typeof vms)[number]];
  const eth1 = vm2.eth1;
  if (!eth1) throw new Error(`${vm2.name} has no second NIC`);

  const mk = <N extends PodHost>(label: string, node: N, subnet: string, ip: string): Pod<N> => ({
    label,
    name: `${o.prefix}-${label}`,
    node,
    subnet,
    ip,
  });
  const pod1 = mk('pod1', vm1, '1.2.0.0/16', '1.2.0.100');
  const a = mk('a', vm1, '1.2.0.0/16', '1.2.0.101');
  const b = mk('b', vm2, '1.2.0.0/16', '1.2.0.102');
  const c = mk('c', vm2, '192.168.10.0/24', '192.168.10.10');
  const m = mk('m', metal, '1.2.0.0/16', '1.2.0.103');
  const e1 = await experiment1(o, state, ep, pod1);
  const rows = await o.log.step(
    `the connectivity matrix: ${a.name} on ${vm1.name}; ${b.name}, ${c.name} (second subnet) on ${vm2.name}; ${m.name} on the bare-metal ${metal.name}`,
    async () => {
      for (const p of [a, b, c, m]) await addPod(o, state, ep, p);
      const where = (x: PodHost, y: PodHost | undefined) => {
        const vm = (n: PodHost) => vms.some((v) => v.name === n.name);
        if (!y) return 'nested pod ↔ plain Neutron port';
        if (vm(x) && vm(y)) return x.name === y.name ? 'same VM' : 'across VMs';
        return 'nested ↔ bare-metal node';
      };
      const pairs: [Pod<PodHost>, Pod<PodHost>][] = [
        [pod1, a],
        [pod1, b],
        [b, c],
        [pod1, c],
        [c, a],
        [pod1, m],
        [m, b],
        [m, c],
      ];
      const out: NestedRow[] = [];
      for (const [x, y] of pairs) {
        const r = await ping(x, y.ip, o);
        out.push({
          pair: `${x.label} → ${y.label}`,
          from: `${x.name} (${x.node.name})`,
          to: `${y.name} (${y.node.name})`,
          toIp: y.ip,
          where: where(x.node, y.node),
          subnets: x.subnet === y.subnet ? 'same subnet' : 'different subnets',
          ...r,
        });
      }
      const plain = `${vm2.name}'s eth1`;
      const toPlain = await ping(a, eth1.ip, o);
      out.push({
        pair: `a → eth1`,
        from: `${a.name} (${vm1.name})`,
        to: `${plain} (a plain port)`,
        toIp: eth1.ip,
        where: where(vm1, undefined),
        subnets: 'same subnet',
        ...toPlain,
      });
      const fromPlain = await pingFromNetns(vm2.netns, pod1.ip);
      out.push({
        pair: `eth1 → pod1`,
        from: `${plain} (a plain port)`,
        to: `${pod1.name} (${vm1.name})`,
        toIp: pod1.ip,
        where: where(vm1, undefined),
        subnets: 'same subnet',
        ...fromPlain,
      });
      return out;
    },
  );
  const services = await o.log.step(
    `probes and a ClusterIP Service through the VMs' own ports: busybox httpd in ${b.name} (${vm2.name}), the kube-proxy stand-in in both VMs`,
    () => nestedServices(o, { vm1, vm2, pod1, web: b }),
  );
  const subs = await o.log.step("each nested pod's subport: port, VLAN and status (OpenStack CLI)", () =>
    subports(o, ep, [pod1, a, b, c], (p) => (p === c ? net2 : net1)),
  );
  return {
    pod1: { ...e1, vlan: subs.find((s) => s.pod === pod1.name)?.vlan },
    rows,
    services,
    subports: subs,
    vms: vms.map((v) => ({ name: v.name, trunk: v.trunk, parentPort: v.parentPort, agentPid: v.agentPid })),
    seconds: o.log.elapsedS(),
  };
}

const SERVICE_IP = '10.96.0.30';

/**
 * The rows a Kubernetes node needs, on VMs: the VM's own netns reaches its pod and the other VM's
 * (the kubelet's probes, hostNetwork pods), and a pod reaches a ClusterIP whose endpoint is in the
 * other VM, through kube-proxy's rules (a stand-in) in its own VM.
 */
async function nestedServices(
  o: LabOptions,
  x: { vm1: Vm; vm2: Vm; pod1: Pod<PodHost>; web: Pod<PodHost> },
): Promise<NestedServiceRow[]> {
  const { vm1, vm2, pod1, web } = x;
  await podmanOn(o, web.node, [
    'exec',
    '-d',
    web.name,
    'sh',
    '-c',
    `mkdir -p /www && echo "served by ${web.name}" > /www/index.html && exec httpd -f -p 80 -h /www`,
  ]);
  const service = {
    name: 'default/web:http',
    clusterIp: SERVICE_IP,
    port: 80,
    protocol: 'tcp' as const,
    endpoints: [{ ip: web.ip, port: 80 }],
  };
  for (const v of [vm1, vm2]) {
    o.log.info(`(${v.name}) kube-proxy STAND-IN: iptables-restore --noflush (KUBE-SERVICES → … DNAT)`);
    await applyStandin(v.netns, [service]);
  }
  const sandbox = (
    await podmanOn(o, pod1.node, ['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', pod1.name], false)
  ).trim();
  const probes: [string, string, string, string, string][] = [
    [
      'VM → pod in the same VM (a probe)',
      `${vm2.name} (host network)`,
      `/run/netns/${vm2.netns}`,
      web.ip,
      '',
    ],
    ['VM → pod in the other VM', `${vm1.name} (host network)`, `/run/netns/${vm1.netns}`, web.ip, ''],
    [
      'nested pod → ClusterIP, endpoint in the other VM',
      `${pod1.name} (${vm1.name})`,
      sandbox,
      SERVICE_IP,
      ` → ${web.name}`,
    ],
  ];
  const out: NestedServiceRow[] = [];
  for (const [what, from, netns, ip, via] of probes) {
    const to = `${ip}:80${via}`;
    try {
      const body = (await httpFrom(netns, `http://${ip}/`, 60_000)).trim();
      out.push({ what, from, to, ok: body === `served by ${web.name}`, detail: body });
    } catch (e) {
      out.push({ what, from, to, ok: false, detail: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

export function nestedTables(r: NestedResult): { matrix: string[]; services: string[]; subports: string[] } {
  const matrix = alignColumns([
    ['pair', 'from', 'to', 'destination', 'where', 'subnets', 'result', 'avg RTT'],
    ...r.rows.map((x) => [
      x.pair,
      x.from,
      x.to,
      x.toIp,
      x.where,
      x.subnets,
      x.ok ? 'PASS' : 'FAIL',
      x.rttMs === undefined ? '-' : `${x.rttMs.toFixed(3)} ms`,
    ]),
  ]);
  const subports = alignColumns([
    ['pod', 'VM', 'IP', 'Neutron port', 'device_owner', 'VLAN', 'status'],
    ...r.subports.map((s) => [s.pod, s.vm, s.ip, s.port, s.deviceOwner, String(s.vlan ?? 'none'), s.status]),
  ]);
  const services = alignColumns([
    ['what', 'from', 'to', 'result', 'answer'],
    ...r.services.map((x) => [x.what, x.from, x.to, x.ok ? 'PASS' : 'FAIL', x.detail]),
  ]);
  return { matrix, services, subports };
}

export function nestedOk(r: NestedResult): boolean {
  const vlans = r.subports.map((s) => s.vlan);
  return (
    r.rows.every((x) => x.ok) &&
    r.services.every((x) => x.ok) &&
    r.pod1.status === 'ACTIVE' &&
    r.pod1.eth0.includes(`${r.pod1.ip}/16`) &&
    r.subports.every(
      (s) => s.deviceOwner === 'trunk:subport' && s.vlan !== undefined && s.status === 'ACTIVE',
    ) &&
    new Set(r.subports.map((s) => `${s.vm}/${s.vlan}`)).size === vlans.length
  );
}
