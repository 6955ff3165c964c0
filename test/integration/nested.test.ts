/**
 * Nested mode (`plugDriver: vlan`) on real Neutron (the trunk plugin), OVN and OVS, through libcni.
 *
 * The hypervisor is a test OVS node joined to OVN as a chassis. The "VM" is a netns of its own
 * whose NIC `eth0` is its trunk parent port, plugged on the hypervisor as Nova would plug a VM's
 * port, and bound to the hypervisor. This machine's kernel has no 802.1Q (no `type vlan` links), so
 * the VM untags its pods' frames with an OVS of its own (`nested.vlanDevice: ovs`): NIC and pod
 * NICs are ports of the VM's bridge, each pod's an access port with its subport's VLAN. Nothing in
 * the VM is OVN's: its agent talks to the Neutron API only. Pods are netns inside the VM's view,
 * driven by the VM node's own nnet-agent.
 *
 * The VM finds its trunk by its NIC's MAC; a plain Neutron port on the hypervisor (a VM's second
 * NIC) is the peer the pods must reach. A second VM on the same hypervisor, and a bare-metal node
 * runtime on the hypervisor itself, make the connectivity matrix. Each VM's own port on the pod
 * network (a subport too) gives its pods probes and Services through a kube-proxy STAND-IN in the
 * VM's netns (lab/kube-proxy-standin.ts: kube-proxy needs an API server, none can run here).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { applyStandin, removeStandin } from '../../lab/kube-proxy-standin.ts';
import { plugVmNic } from '../../lab/nested.ts';
import { httpFrom, lookupFrom } from '../../lab/probes.ts';
import type { Port, Trunk } from '../../src/neutron/index.ts';
import {
  isNodePort,
  nodePortTags,
  POOL_TAG,
  poolDeviceId,
  releaseClusterNodes,
} from '../../src/resources/index.ts';
import { agentMetric, startAgent, type TestAgent } from '../support/agent.ts';
import { adminNeutron, startTestCluster, type TestCluster } from '../support/cluster.ts';
import { type CniRuntime, cniRuntime, type HarnessCall, type HarnessResult } from '../support/cni.ts';
import { clusterKubenetctl } from '../support/kubenetctl.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';
import { type OvsNode, startOvsNode } from '../support/ovs-node.ts';
import { setPoolSettings } from '../support/pools.ts';
import { dnsServerIn, httpServerIn } from '../support/servers.ts';

const PREFIX = 'nntn';
const tag = randomBytes(3).toString('hex');
const vmName = `${PREFIX}-vm-${tag}`;
const vm2Name = `${PREFIX}-vm2-${tag}`;

let c: TestCluster;
let vm: OvsNode; // the VM: its own netns and OVS, no OVN
let parent: Port;
let peer: Port; // a plain Neutron port on the hypervisor, in netns `peerNs`
let peerNs: TestNetns;
let trunk: Trunk | undefined;
// A second VM on the same hypervisor, with its trunk and agent; and a bare-metal node runtime on
// the hypervisor itself (the internal driver, an agent of its own).
let vm2: OvsNode;
let trunk2: Trunk;
let rtVm2: CniRuntime;
let rtMetal: CniRuntime;
// Pods of VM 2 on a second network, routed to the first by a Neutron router (across subnets).
let rtVm2Net2: CniRuntime;
const cleanup: (() => unknown)[] = [];
const otherAgents: TestAgent[] = []; // VM 2's and the bare-metal node's

function ok(r: HarnessResult, what: string): Record<string, unknown> {
  assert.equal(r.code, 0, `${what} failed: ${r.stdout} ${r.stderr}`);
  return r.json ?? {};
}

/** The CNI error a failed call printed (libcni hands the plugin's error JSON through). */
function cniError(r: HarnessResult, what: string): { code: number; msg: string } {
  assert.notEqual(r.code, 0, `${what} should have failed: ${r.stdout}`);
  const e = (r.json ?? {}) as { code?: number; msg?: string; details?: string };
  assert.equal(typeof e.code, 'number', `${what}: an error JSON: ${r.stdout} ${r.stderr}`);
  return { code: e.code!, msg: `${e.msg ?? ''} ${e.details ?? ''}` };
}

const ipOf = (r: Record<string, unknown>) =>
  String((r.ips as { address: string }[])[0]!.address).split('/')[0]!;

function pod(): TestNetns {
  const p = createNetns(PREFIX);
  cleanup.push(() => p.remove());
  return p;
}

function call(id: string, netns: TestNetns, name: string): HarnessCall {
  return { id, netns: netns.path, args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: name } };
}

async function waitFor(what: string, fn: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(250);
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

const pings = (from: TestNetns, ip: string) => from.run(['ping', '-c', '1', '-W', '1', ip]).code === 0;

/** The nodes' own ports (the VMs' ride their trunks, nnh… devices in the VMs): their Services path. */
async function nodePortIds(): Promise<Set<string>> {
  const ports = await c.neutron.ports.list({ tags: ['nnet', `nnet-cluster=${c.name}`, 'nnet-node-port'] });
  return new Set(ports.map((p) => p.id));
}

/** The pods' subports of a trunk (not the VM node's own ports). */
async function podSubports(trunkId: string) {
  const own = await nodePortIds();
  return (await c.neutron.trunks.get(trunkId)).subPorts.filter((s) => !own.has(s.portId));
}

/** A VM's devices on its bridge besides its NIC; `pods` leaves out the node's own (nnh…). */
function vmDevices(v: OvsNode, o: { pods?: boolean } = {}): string[] {
  return v
    .vsctl('list-ports', 'br-int')
    .split('\n')
    .filter((p) => p && p !== 'eth0' && !(o.pods && p.startsWith('nnh')));
}

/** Every pod port of the cluster Neutron has, and the pods' subports of the VMs' trunks. */
async function left(): Promise<{ ports: string[]; subports: string[]; vmPorts: string[] }> {
  const ports = await c.neutron.ports.list({ tags: ['nnet', `nnet-cluster=${c.name}`] });
  const subports = await Promise.all([trunk, trunk2].flatMap((t) => (t ? [podSubports(t.id)] : [])));
  return {
    // Not the reservations, nor the nodes' own ports (their Services path).
    ports: ports.filter((p) => !p.tags?.includes('nnet-reserved') && !isNodePort(p)).map((p) => p.id),
    subports: subports.flat().map((s) => `${s.portId}@${s.segmentationId}`),
    vmPorts: [vm, vm2].flatMap((v) => (v ? vmDevices(v, { pods: true }) : [])),
  };
}

async function dropTrunk(id: string): Promise<void> {
  const t = await c.neutron.trunks.get(id).catch(() => undefined);
  if (!t) return;
  if (t.subPorts.length > 0)
    await c.neutron.trunks.removeSubports(
      t.id,
      t.subPorts.map((s) => s.portId),
    );
  await c.neutron.trunks.delete(t.id);
}

/** Another node's runtime (the cluster's plugin config with `plugin` on top) and its own agent. */
async function nodeRuntime(name: string, plugin: Record<string, unknown>): Promise<CniRuntime> {
  const dir = mkdtempSync(join(tmpdir(), `${c.name}-${name}-`));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'cni.sock');
  const rt = cniRuntime({
    prefix: `${c.name}-${name}`,
    plugin: { ...c.rt.plugin, ...plugin, agentSocket: socket, tokenCacheDir: join(dir, 'tokens') },
  });
  cleanup.push(() => rt.remove());
  const agent = await startAgent({ conflist: rt.conflist, socket, logFile: join(dir, 'agent.log') });
  cleanup.push(() => agent.stop());
  otherAgents.push(agent);
  return rt;
}

async function assertNothingLeft(what: string): Promise<void> {
  assert.deepEqual(await left(), { ports: [], subports: [], vmPorts: [] }, `${what} left nothing`);
}

/** A runtime of the VM node with `nested` changed (same agent: its config is a node context of its own). */
function variant(name: string, nested: Record<string, unknown>): CniRuntime {
  const rt = cniRuntime({
    prefix: `${c.name}-${name}`,
    plugin: { ...c.rt.plugin, nested: { ...(c.rt.plugin.nested as object), ...nested } },
  });
  cleanup.push(() => rt.remove());
  return rt;
}

before(async () => {
  vm = await startOvsNode({ name: vmName, prefix: PREFIX });
  cleanup.push(() => vm.stop());
  c = await startTestCluster({
    prefix: PREFIX,
    backend: 'sqlite',
    faulty: true,
    plugin: {
      plugDriver: 'vlan',
      nodeName: vmName,
      ovsdbSocket: `unix:${vm.ovsdbSocket}`,
      ovsNetns: vm.netnsPath,
      nested: { nic: 'eth0', vlanDevice: 'ovs' },
    },
  });
  const hv = c.node; // the hypervisor: the cluster's OVS node, an OVN chassis named c.name
  const mtu = c.network.mtu ?? 1442;
  // As os-vif plugs a VM's port on the hypervisor (lab/nested.ts, the nested lab's own): an
  // internal port with the iface-id and no N-Net ids (the bare-metal node's agent must not take it
  // for a pod NIC of its own), its tap moved into the VM's netns as eth0.
  const plugged = async (p: Port, netns: string, address?: string) => {
    cleanup.push(() => hv.vsctl('--if-exists', 'del-port', 'br-int', `tap${p.id.slice(0, 11)}`));
    await plugVmNic(hv, { id: p.id, mac: p.macAddress }, netns, 'eth0', mtu, address && `${address}/16`);
  };
  // As Nova makes a VM's ports: bound to the hypervisor, owned by the instance.
  const vmPort = (name: string) =>
    c.neutron.ports.create({
      networkId: c.network.id,
      name: `${c.name}-${name}`,
      hostId: c.name,
      deviceOwner: 'compute:nova',
      deviceId: `${c.name}-${name}`,
    });
  parent = await vmPort('vm1');
  peer = await vmPort('vm2');
  cleanup.push(() => c.neutron.ports.ensureDeleted(parent.id));
  cleanup.push(() => c.neutron.ports.ensureDeleted(peer.id));
  // The VM's NIC: the parent port's tap, inside the VM, a port of the VM's own bridge.
  await plugged(parent, vm.netnsName);
  vm.vsctl('add-port', 'br-int', 'eth0', '--', 'set', 'Interface', 'eth0', 'type=system');
  peerNs = pod();
  await plugged(peer, peerNs.name, peer.fixedIps[0]!.ipAddress);

  vm2 = await startOvsNode({ name: vm2Name, prefix: PREFIX });
  cleanup.push(() => vm2.stop());
  const parent2 = await vmPort('vm3');
  cleanup.push(() => c.neutron.ports.ensureDeleted(parent2.id));
  await plugged(parent2, vm2.netnsName);
  vm2.vsctl('add-port', 'br-int', 'eth0', '--', 'set', 'Interface', 'eth0', 'type=system');
  trunk2 = await c.neutron.trunks.create({ portId: parent2.id, name: `${c.name}-trunk2` });
  cleanup.push(() => dropTrunk(trunk2.id));
  rtVm2 = await nodeRuntime('vm2', {
    nodeName: vm2Name,
    ovsdbSocket: `unix:${vm2.ovsdbSocket}`,
    ovsNetns: vm2.netnsPath,
  });
  // A second network and subnet, routed to the cluster's, that the cluster may use.
  const net2 = await c.neutron.networks.create({ name: `${c.name}-net2` });
  cleanup.push(() => c.neutron.networks.ensureDeleted(net2.id));
  const sub2 = await c.neutron.subnets.create({
    networkId: net2.id,
    name: `${c.name}-sub2`,
    ipVersion: 4,
    cidr: '10.78.0.0/24',
  });
  cleanup.push(async () => {
    for (const p of await c.neutron.ports.list({ networkId: net2.id }))
      await c.neutron.ports.ensureDeleted(p.id);
    await c.neutron.subnets.ensureDeleted(sub2.id);
  });
  const router = await c.neutron.routers.create({ name: `${c.name}-router` });
  cleanup.push(() => c.neutron.routers.ensureDeleted(router.id));
  for (const subnetId of [c.subnet.id, sub2.id]) {
    await c.neutron.routers.addInterface(router.id, { subnetId });
    cleanup.push(() => c.neutron.routers.removeInterface(router.id, { subnetId }));
  }
  await c.store.clusters.update(c.name, (cur) => {
    if (!cur) return undefined;
    const { createdAt: _, ...rest } = cur;
    return { ...rest, allowedNetworkIds: [net2.id] };
  });
  // VM 2's agent serves this config too (a node context of its own: another default network).
  rtVm2Net2 = cniRuntime({ prefix: `${c.name}-vm2n2`, plugin: { ...rtVm2.plugin, network: net2.id } });
  cleanup.push(() => rtVm2Net2.remove());
  rtMetal = await nodeRuntime('metal', {
    plugDriver: 'internal',
    nested: undefined,
    nodeName: c.name,
    ovsdbSocket: `unix:${hv.ovsdbSocket}`,
    ovsNetns: hv.netnsPath,
  });
});

after(async () => {
  for (const fn of cleanup.splice(0).reverse())
    await Promise.resolve()
      .then(fn)
      .catch(() => undefined);
  await c?.stop();
});

test('nested: the VM port not yet a trunk parent: ADD fails with a 100s code naming the port, and leaves nothing', async () => {
  const p = pod();
  const e = cniError(c.rt.call('add', call(`nt-${tag}`, p, 'early')), 'ADD before the trunk');
  assert.ok(e.code >= 100 && e.code < 200, `code ${e.code}: ${e.msg}`);
  assert.match(e.msg, new RegExp(`port ${parent.id} is not a trunk's parent`));
  await assertNothingLeft('the refused ADD');
  ok(c.rt.call('del', call(`nt-${tag}`, p, 'early')), 'DEL after the refused ADD');
});

test('nested: ADD puts the pod on the VM trunk with a VLAN of its own; the pod reaches a plain Neutron port; CHECK passes; DEL takes it all back', async () => {
  trunk = await c.neutron.trunks.create({ portId: parent.id, name: `${c.name}-trunk` });
  cleanup.push(() => dropTrunk(trunk!.id));
  const p = pod();
  const k = call(`n1-${tag}`, p, 'web-0');
  const r = ok(c.rt.call('add', k), 'ADD');
  cleanup.push(() => c.rt.call('del', k));
  const ip = ipOf(r);
  const [port] = await c.neutron.ports.list({ fixedIps: [{ ipAddress: ip }], networkId: c.network.id });
  assert.ok(port, `a Neutron port holds ${ip}`);
  assert.equal(port.deviceOwner, 'trunk:subport');
  assert.equal(port.deviceId, k.id, "device_id is the pod's container");
  const t = await c.neutron.trunks.get(trunk.id);
  const sub = t.subPorts.find((s) => s.portId === port.id);
  assert.ok(sub, `port ${port.id} is a subport of trunk ${trunk.id}: ${JSON.stringify(t.subPorts)}`);
  assert.equal(sub.segmentationType, 'vlan');
  // The VM's access port for the pod carries the subport's VLAN.
  const vmPort = vm
    .vsctl('--format=csv', '--no-headings', '--columns=name,tag', 'find', 'Port', `tag=${sub.segmentationId}`)
    .trim();
  assert.match(vmPort, new RegExp(`^nn\\w+,${sub.segmentationId}$`), `VM OVS port with tag: ${vmPort}`);
  // The first ping right after ADD returns.
  const first = p.run(['ping', '-c', '3', '-i', '0.2', '-W', '2', peer.fixedIps[0]!.ipAddress]);
  assert.equal(first.code, 0, `pod → plain port right after ADD: ${first.stdout}`);
  assert.match(first.stdout, / 0% packet loss/, first.stdout);
  assert.ok(pings(peerNs, ip), 'plain port → pod');
  ok(c.rt.call('check', k), 'CHECK');
  // openstack CLI, an independent view: the trunk shows the subport.
  const cli = execFileSync('openstack', ['network', 'trunk', 'show', trunk.id, '-f', 'json'], {
    encoding: 'utf8',
    env: { ...process.env, OS_CLIENT_CONFIG_FILE: c.env.cloudsYaml, OS_CLOUD: c.env.cloud },
  });
  assert.match(cli, new RegExp(port.id));

  ok(c.rt.call('del', k), 'DEL');
  await assertNothingLeft('DEL');
  ok(c.rt.call('del', k), 'a second DEL');
});

test('nested: 16 ADDs at once in one VM get distinct VLAN IDs and IPs, reach each other, and their DELs leave no subport, port or device', async () => {
  assert.ok(trunk, 'the trunk of the previous test');
  const pods = Array.from({ length: 16 }, (_, i) => ({
    netns: pod(),
    k: undefined as HarnessCall | undefined,
    i,
  }));
  for (const x of pods) {
    x.k = call(`np${x.i}-${tag}`, x.netns, `many-${x.i}`);
    cleanup.push(() => c.rt.call('del', x.k!));
  }
  const results = await Promise.all(pods.map((x) => c.rt.callAsync('add', x.k!)));
  const ips = results.map((r, i) => ipOf(ok(r, `ADD ${i}`)));
  assert.equal(new Set(ips).size, 16, `distinct IPs: ${ips.join(' ')}`);
  const subs = await podSubports(trunk.id);
  const vlans = subs.map((s) => s.segmentationId);
  assert.equal(subs.length, 16, JSON.stringify(subs));
  assert.equal(new Set(vlans).size, 16, `distinct VLAN IDs: ${vlans.join(' ')}`);
  // Same VM, pod ↔ pod (their frames leave the VM tagged and come back through the hypervisor).
  await waitFor('pod 0 → pod 15', () => pings(pods[0]!.netns, ips[15]!), 30_000);
  assert.ok(pings(pods[7]!.netns, ips[3]!), 'pod 7 → pod 3');
  const dels = await Promise.all(pods.map((x) => c.rt.callAsync('del', x.k!)));
  for (const [i, r] of dels.entries()) ok(r, `DEL ${i}`);
  await assertNothingLeft('16 DELs');
});

test('nested: a static IP reserved with kubenetctl (1.2.0.100) rides the trunk while the pod runs and is kept for its next start', async () => {
  assert.ok(trunk);
  const made = clusterKubenetctl(c, ['create', 'podnetwork', 'static-0', '--ip=1.2.0.100', '-n', 'default']);
  assert.equal(made.status, 0, made.stderr);
  cleanup.push(() => clusterKubenetctl(c, ['delete', 'podnetwork', 'static-0', '-n', 'default']));
  const p = pod();
  const k = call(`ns-${tag}`, p, 'static-0');
  const r = ok(c.rt.call('add', k), 'ADD of the reserved pod');
  cleanup.push(() => c.rt.call('del', k));
  assert.equal(ipOf(r), '1.2.0.100');
  await waitFor('the static pod → plain port', () => pings(p, peer.fixedIps[0]!.ipAddress), 30_000);
  // kubenetctl shows the subport's own status (Neutron gives a subport no host).
  let row = '';
  await waitFor('kubenetctl to show the reserved subport ACTIVE', () => {
    const got = clusterKubenetctl(c, ['get', 'podnetworks', '-n', 'default']);
    row = got.stdout.split('\n').find((l) => /\bstatic-0\b/.test(l)) ?? got.stderr;
    return /\bACTIVE\b/.test(row);
  });
  assert.doesNotMatch(row, /Reserved/, row);
  ok(c.rt.call('check', k), 'CHECK');
  ok(c.rt.call('del', k), 'DEL');
  await assertNothingLeft('DEL of the reserved pod');
  const kept = await c.neutron.ports.list({
    fixedIps: [{ ipAddress: '1.2.0.100' }],
    networkId: c.network.id,
  });
  assert.equal(kept.length, 1, 'the reservation is kept');
  assert.equal(kept[0]!.deviceId, '', 'and held by no container');
  // Its next start gets it again.
  const r2 = ok(c.rt.call('add', k), 'ADD again');
  assert.equal(ipOf(r2), '1.2.0.100');
  ok(c.rt.call('del', k), 'DEL again');
  await assertNothingLeft('the second DEL');
});

test('nested: the connectivity matrix — same VM, across VMs, same subnet or across subnets, nested ↔ a bare-metal pod on the hypervisor, nested ↔ a plain Neutron port — and the DELs leave nothing', async (t) => {
  assert.ok(trunk);
  const started: [CniRuntime, HarnessCall][] = [];
  const add = (rt: CniRuntime, netns: TestNetns, name: string): string => {
    const k = call(`mx-${name}-${tag}`, netns, name);
    const r = ok(rt.call('add', k), `ADD ${name}`);
    started.push([rt, k]);
    cleanup.push(() => rt.call('del', k));
    return ipOf(r);
  };
  const [a, b, d, e, m] = [pod(), pod(), pod(), pod(), pod()];
  const ip = {
    a: add(c.rt, a, 'vm1-a'),
    b: add(c.rt, b, 'vm1-b'),
    d: add(rtVm2, d, 'vm2-d'),
    e: add(rtVm2Net2, e, 'vm2-e'),
    m: add(rtMetal, m, 'metal-m'),
    peer: peer.fixedIps[0]!.ipAddress,
  };
  const subOf = async (id: string) => (await podSubports(id)).length;
  assert.equal(await subOf(trunk.id), 2, 'two pods ride VM 1');
  assert.match(ip.e, /^10\.78\.0\./, "VM 2's second pod is on the second subnet");
  assert.equal(await subOf(trunk2.id), 2, 'two pods ride VM 2, one per network');
  const rows: [string, TestNetns, string][] = [
    ['VM 1 pod → VM 1 pod', a, ip.b],
    ['VM 1 pod → VM 2 pod', a, ip.d],
    ['VM 2 pod → VM 1 pod', d, ip.b],
    ['VM 1 pod → bare-metal pod', a, ip.m],
    ['bare-metal pod → VM 2 pod', m, ip.d],
    ['VM 1 pod → VM 2 pod, across subnets (router)', a, ip.e],
    ['VM 2 pod, second subnet → VM 2 pod, first subnet', e, ip.d],
    ['bare-metal pod → VM 2 pod, across subnets', m, ip.e],
    ['VM 2 pod → plain port', d, ip.peer],
    ['plain port → VM 1 pod', peerNs, ip.a],
  ];
  for (const [what, from, to] of rows) {
    await waitFor(what, () => pings(from, to), 30_000);
    t.diagnostic(`${what} (${to}): reached`);
  }
  for (const [rt, k] of started) ok(rt.call('check', k), `CHECK ${k.id}`);
  for (const [rt, k] of started) ok(rt.call('del', k), `DEL ${k.id}`);
  await assertNothingLeft('the matrix pods');
});

test("nested: a VM node's own port rides its trunk and gives its pods probes, host-network access and ClusterIP Services (kube-proxy STAND-IN): TCP same VM and across VMs, UDP DNS; the DELs leave nothing", async (t) => {
  assert.ok(trunk && trunk2);
  const started: [CniRuntime, HarnessCall][] = [];
  const add = (rt: CniRuntime, name: string) => {
    const netns = pod();
    const k = call(`sv-${name}-${tag}`, netns, name);
    const r = ok(rt.call('add', k), `ADD ${name}`);
    started.push([rt, k]);
    cleanup.push(() => rt.call('del', k));
    return { netns, ip: ipOf(r), result: r };
  };
  const client = add(c.rt, 'client');
  const web1 = add(c.rt, 'web1');
  const web2 = add(rtVm2, 'web2');
  const dns2 = add(rtVm2, 'dns2');

  // VM 1's own port on the pod network: a subport of its trunk on a VLAN of its own, an access
  // port of that VLAN on the VM's bridge, and the next hop of its pods' Service CIDR.
  const rec = (await c.store.nodes.get({ cluster: c.name, name: vmName }))?.ports.find(
    (p) => p.networkId === c.network.id,
  );
  assert.ok(rec?.subport, `VM 1's node record has its port on the trunk: ${JSON.stringify(rec)}`);
  const onTrunk = (await c.neutron.trunks.get(trunk.id)).subPorts.find((x) => x.portId === rec.portId);
  assert.equal(onTrunk?.segmentationId, rec.subport.vlan, 'on the trunk with the recorded VLAN');
  const [own] = await c.neutron.ports.list({ id: [rec.portId] });
  assert.ok(own && isNodePort(own) && own.tags.includes(`nnet-node=${vmName}`), `tagged: ${own?.tags}`);
  assert.equal(own.portSecurityEnabled, false, 'no port security: it forwards replies from Service IPs');
  const access = vm
    .vsctl('--format=csv', '--no-headings', '--columns=name,tag', 'find', 'Port', `tag=${rec.subport.vlan}`)
    .trim();
  assert.equal(access, `${rec.device},${rec.subport.vlan}`, "the VM's device for it carries its VLAN");
  const nodeIp = rec.ips[0]!.address;
  const routes = (client.result.routes ?? []) as { dst: string; gw?: string }[];
  assert.ok(
    routes.some((r) => r.dst === '10.96.0.0/12' && r.gw === nodeIp),
    `the pod routes the Service CIDR via VM 1's port ${nodeIp}: ${JSON.stringify(routes)}`,
  );

  httpServerIn(cleanup, web1.netns.name, 'web1', PREFIX);
  httpServerIn(cleanup, web2.netns.name, 'web2', PREFIX);
  dnsServerIn(cleanup, dns2.netns.name, dns2.ip, { 'web2.default.svc.cluster.local': '10.96.0.30' });
  // The kubelet's probes and hostNetwork pods: the VM's own netns reaches its pods and the other VM's.
  assert.match(await httpFrom(vm.netnsPath, `http://${web1.ip}/`), /served by web1/, 'VM 1 → its pod');
  assert.match(await httpFrom(vm.netnsPath, `http://${web2.ip}/`), /served by web2/, "VM 1 → VM 2's pod");
  assert.match(await httpFrom(vm2.netnsPath, `http://${web1.ip}/`), /served by web1/, "VM 2 → VM 1's pod");
  t.diagnostic('probes from the VMs: reached');

  const services = [
    {
      name: 'default/web1:http',
      clusterIp: '10.96.0.20',
      port: 80,
      protocol: 'tcp' as const,
      endpoints: [{ ip: web1.ip, port: 80 }],
    },
    {
      name: 'default/web2:http',
      clusterIp: '10.96.0.30',
      port: 80,
      protocol: 'tcp' as const,
      endpoints: [{ ip: web2.ip, port: 80 }],
    },
    {
      name: 'kube-system/kube-dns:dns',
      clusterIp: '10.96.0.10',
      port: 53,
      protocol: 'udp' as const,
      endpoints: [{ ip: dns2.ip, port: 53 }],
    },
  ];
  for (const v of [vm, vm2]) {
    await applyStandin(v.netnsName, services);
    cleanup.push(() => removeStandin(v.netnsName));
  }
  const url = (ip: string) => `http://${ip}/`;
  assert.match(await httpFrom(client.netns.path, url('10.96.0.20')), /served by web1/, 'Service, same VM');
  assert.match(await httpFrom(client.netns.path, url('10.96.0.30')), /served by web2/, 'Service, across VMs');
  assert.equal(
    await lookupFrom(client.netns.path, 'web2.default.svc.cluster.local', '10.96.0.10'),
    '10.96.0.30',
    'DNS through the kube-dns Service, its endpoint in the other VM',
  );
  t.diagnostic('ClusterIP Services from a nested pod: reached');

  // A second NIC of VM 1 on the pod network, with its own address, hot-plugged now (the lab's VM 2
  // has one): two connected routes to the subnet in the VM. N-Net's rules send its replies out by
  // it, and the node's own traffic and the Service flows it forwards by the node port.
  const eth1 = await c.neutron.ports.create({
    networkId: c.network.id,
    name: `${c.name}-vm1-eth1`,
    hostId: c.name,
    deviceOwner: 'compute:nova',
    deviceId: `${c.name}-vm1`,
  });
  const eth1Tap = `tap${eth1.id.slice(0, 11)}`;
  cleanup.push(() => c.neutron.ports.ensureDeleted(eth1.id));
  cleanup.push(() => c.node.vsctl('--if-exists', 'del-port', 'br-int', eth1Tap));
  const eth1Ip = eth1.fixedIps[0]!.ipAddress;
  await plugVmNic(
    c.node,
    { id: eth1.id, mac: eth1.macAddress },
    vm.netnsName,
    'eth1',
    c.network.mtu ?? 1442,
    `${eth1Ip}/16`,
  );
  await c.restartAgent(); // its start-up reconcile brings the VM's rules in line with its addresses
  const rules = () => execFileSync('ip', ['-n', vm.netnsName, 'rule'], { encoding: 'utf8' });
  assert.match(rules(), new RegExp(`from ${eth1Ip.replaceAll('.', '\\.')} lookup`), rules());
  await waitFor('a pod → VM 1 eth1', () => pings(client.netns, eth1Ip), 30_000);
  await waitFor('a plain port → VM 1 eth1', () => pings(peerNs, eth1Ip), 30_000);
  assert.match(await httpFrom(vm.netnsPath, `http://${web2.ip}/`), /served by web2/, 'VM 1 → pod, with eth1');
  assert.match(
    await httpFrom(client.netns.path, url('10.96.0.30')),
    /served by web2/,
    'Service across VMs, with eth1 in VM 1',
  );
  c.node.vsctl('--if-exists', 'del-port', 'br-int', eth1Tap); // unplugged: its tap goes
  await c.neutron.ports.ensureDeleted(eth1.id);
  await c.restartAgent();
  assert.doesNotMatch(rules(), /lookup 18527/, `N-Net's rules go with the address: ${rules()}`);
  t.diagnostic("a second NIC on the pod network in the VM: reached, and N-Net's rules gone with it");

  for (const [rt, k] of started) ok(rt.call('check', k), `CHECK ${k.id}`);
  for (const [rt, k] of started) ok(rt.call('del', k), `DEL ${k.id}`);
  await assertNothingLeft('the Service pods');
  assert.ok(
    (await c.neutron.trunks.get(trunk.id)).subPorts.some((x) => x.portId === rec.portId),
    "VM 1's own port stays on its trunk for its next pods",
  );
});

test('nested: a node NIC that is not there fails ADD with a 100s code naming it, after the trunk was joined, and leaves nothing', async () => {
  assert.ok(trunk);
  const rt = variant('nonic', { nic: 'eth9', parentPort: parent.id });
  const p = pod();
  const e = cniError(rt.call('add', call(`nx-${tag}`, p, 'nonic')), 'ADD with a missing NIC');
  assert.ok(e.code >= 100 && e.code < 200, `code ${e.code}: ${e.msg}`);
  assert.match(e.msg, /NIC eth9 .*is not found/);
  await assertNothingLeft('the failed ADD');
  ok(rt.call('del', call(`nx-${tag}`, p, 'nonic')), 'DEL after it');
});

test("nested: 802.1Q devices (vlanDevice kernel) work where the kernel has them; on this machine's kernel ADD fails with a clear 100s error and leaves nothing", async () => {
  assert.ok(trunk);
  const probe = createNetns(PREFIX);
  cleanup.push(() => probe.remove());
  probe.exec(['ip', 'link', 'add', 'nntnd0', 'type', 'veth', 'peer', 'name', 'nntnd1']);
  const has8021q =
    probe.run(['ip', 'link', 'add', 'link', 'nntnd0', 'name', 'nntnv0', 'type', 'vlan', 'id', '5']).code ===
    0;
  const rt = variant('kernel', { vlanDevice: 'kernel', nicNetns: vm.netnsPath });
  const p = pod();
  const k = call(`nk-${tag}`, p, 'kernel');
  const r = rt.call('add', k);
  if (has8021q) {
    // Where the kernel has 802.1Q, the device is made on the NIC and CHECK finds its VLAN.
    ok(r, 'ADD with an 802.1Q device');
    ok(rt.call('check', k), 'CHECK');
  } else {
    const e = cniError(r, 'ADD with an 802.1Q device on a kernel without them');
    assert.ok(e.code >= 100 && e.code < 200, `code ${e.code}: ${e.msg}`);
    assert.match(e.msg, /no 802\.1Q VLAN devices/);
    assert.match(e.msg, /set nested\.vlanDevice to "ovs"/, 'and says what to do');
  }
  ok(rt.call('del', k), 'DEL');
  await assertNothingLeft('the kernel-device ADD and its DEL');
});

test('nested: a trunk parent port of another project is refused (code 115) naming the port and its project, and nothing is made', async () => {
  const dir = mkdtempSync(join(tmpdir(), `${c.name}-foreign-`));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  // The env's admin makes a port and its trunk in its own project, on the cluster's network.
  const admin = adminNeutron(c.env, join(dir, 'tokens'));
  const port = await admin.ports.create({ networkId: c.network.id, name: `${c.name}-foreign` });
  cleanup.push(() => admin.ports.ensureDeleted(port.id));
  const foreign = await admin.trunks.create({ portId: port.id, name: `${c.name}-foreign-trunk` });
  cleanup.push(() => admin.trunks.delete(foreign.id));
  const rt = variant('foreign', { parentPort: port.id });
  const p = pod();
  const k = call(`nf-${tag}`, p, 'foreign');
  const e = cniError(rt.call('add', k), 'ADD on a trunk of another project');
  assert.equal(e.code, 115, e.msg);
  assert.match(
    e.msg,
    new RegExp(`refusing the node's port ${port.id} as its trunk parent: it belongs to project`),
  );
  await assertNothingLeft('the refused ADD');
  assert.deepEqual((await admin.trunks.get(foreign.id)).subPorts, [], 'the foreign trunk is untouched');
  ok(rt.call('del', k), 'DEL after it');
});

test('nested: an agent killed right after the port joined the trunk leaves a subport that its restart releases; DEL then succeeds', async () => {
  assert.ok(trunk);
  await c.restartAgent({ env: { NNET_FAULT_KILL_AFTER: 'subport' } });
  const p = pod();
  const k = call(`nz-${tag}`, p, 'killed');
  const r = c.rt.call('add', k);
  assert.notEqual(r.code, 0, 'the ADD whose agent died fails');
  const stranded = await left();
  assert.equal(stranded.subports.length, 1, `the killed ADD left its subport: ${JSON.stringify(stranded)}`);
  await c.restartAgent(); // its start-up reconcile: the sweep CNI GC runs, with no grace
  await assertNothingLeft("the agent's start-up reconcile");
  ok(c.rt.call('del', k), 'DEL of the killed ADD');
  await assertNothingLeft('DEL');
});

test('nested: an agent killed after making the port but before the trunk join leaves a port on no trunk; its restart deletes it; DEL then succeeds', async () => {
  assert.ok(trunk);
  await c.restartAgent({ env: { NNET_FAULT_KILL_AFTER: 'nested-port' } });
  const p = pod();
  const k = call(`ny-${tag}`, p, 'stray');
  const r = c.rt.call('add', k);
  assert.notEqual(r.code, 0, 'the ADD whose agent died fails');
  const stranded = await left();
  assert.equal(stranded.ports.length, 1, `the killed ADD left its port: ${JSON.stringify(stranded)}`);
  assert.deepEqual(stranded.subports, [], 'and it is on no trunk');
  const [port] = await c.neutron.ports.list({ id: stranded.ports });
  assert.equal(port?.deviceId, '', 'held by no device');
  assert.ok(
    port?.tags.includes(`nnet-node=${vmName}`),
    `tagged with the VM node that made it: ${port?.tags}`,
  );
  await c.restartAgent(); // its start-up reconcile: the sweep CNI GC runs, with no grace
  await assertNothingLeft("the agent's start-up reconcile");
  ok(c.rt.call('del', k), 'DEL of the killed ADD');
  await assertNothingLeft('DEL');
});

test('nested: a VM node that left (kubenetctl gc --node) has its pods taken off its trunk: a port ADD made deleted, a reservation unbound and kept, its records gone', async () => {
  assert.ok(trunk2);
  const made = clusterKubenetctl(c, ['create', 'podnetwork', 'gone-r', '--ip=1.2.0.101', '-n', 'default']);
  assert.equal(made.status, 0, made.stderr);
  cleanup.push(() => clusterKubenetctl(c, ['delete', 'podnetwork', 'gone-r', '-n', 'default']));
  const [pa, pr] = [pod(), pod()];
  const ka = call(`ngone-a-${tag}`, pa, 'gone-a');
  const kr = call(`ngone-r-${tag}`, pr, 'gone-r');
  const ipA = ipOf(ok(rtVm2.call('add', ka), 'ADD gone-a in VM 2'));
  assert.equal(ipOf(ok(rtVm2.call('add', kr), 'ADD gone-r in VM 2')), '1.2.0.101');
  const on = (await podSubports(trunk2.id)).map((x) => x.portId);
  assert.equal(on.length, 2, 'both ride VM 2');
  const own2 = await c.neutron.ports.list({ tags: nodePortTags(c.name, vm2Name) });
  assert.ok(own2.length > 0, "VM 2's own ports (one per network it serves) ride its trunk too");
  const [portA] = await c.neutron.ports.list({ fixedIps: [{ ipAddress: ipA }], networkId: c.network.id });
  const [portR] = await c.neutron.ports.list({
    fixedIps: [{ ipAddress: '1.2.0.101' }],
    networkId: c.network.id,
  });
  assert.ok(portA && portR);
  // VM 2 is gone with its agent (its pods' subports stay ACTIVE on the hypervisor: no agent
  // releases it as lost on its own, so the release is the operator's).
  await otherAgents[0]!.stop();
  const gc = clusterKubenetctl(c, ['gc', '--node', vm2Name]);
  assert.equal(gc.status, 0, gc.stderr);
  assert.match(gc.stdout, new RegExp(`deleted pod port ${portA.id}`));
  assert.match(gc.stdout, new RegExp(`unbound reservation ${portR.id}`));
  assert.deepEqual((await c.neutron.trunks.get(trunk2.id)).subPorts, [], "nothing rides VM 2's trunk");
  assert.deepEqual(
    await c.neutron.ports.list({ tags: nodePortTags(c.name, vm2Name) }),
    [],
    "VM 2's own ports are deleted",
  );
  assert.deepEqual(await c.neutron.ports.list({ id: [portA.id] }), [], 'the port ADD made is deleted');
  const [kept] = await c.neutron.ports.list({ id: [portR.id] });
  assert.ok(kept, 'the reservation is kept');
  assert.equal(kept.deviceId, '', 'and held by no device');
  assert.equal(kept.deviceOwner === 'trunk:subport', false, 'and no subport');
  assert.deepEqual(await c.store.attachments.list({ node: vm2Name }), [], "VM 2's records are gone");
  // What is inside the VM (its bridge's access ports) is not Neutron's: it goes with the VM.
  const inside = vmDevices(vm2, { pods: true });
  assert.equal(inside.length, 2, `VM 2's own devices are left to VM 2: ${inside}`);
  for (const x of vmDevices(vm2)) vm2.vsctl('del-port', 'br-int', x);
});

/** The VM node's pool ports in Neutron, which of them ride its trunk (on which VLAN), and its pool record. */
async function vmPools() {
  const ports = await c.neutron.ports.list({ tags: [POOL_TAG, `nnet-node=${vmName}`] });
  const subs = await podSubports(trunk!.id);
  const vlanOf = new Map(subs.map((s) => [s.portId, s.segmentationId]));
  const record = (await c.store.nodes.get({ cluster: c.name, name: vmName }))?.pools?.[0];
  return { ports, vlanOf, subports: subs.length, record };
}

test('nested: warm pools keep ready subports on the VM trunk, each on a VLAN of its own; ADD takes one with no new subport, DEL gives it back, a restart finds them, pools off and cluster delete drain the trunk', async () => {
  assert.ok(trunk);
  await setPoolSettings(c, { min: 3, max: 8, batch: 3 });
  cleanup.push(() => setPoolSettings(c, undefined));
  await waitFor('the VM pool to fill to 3', async () => (await vmPools()).record?.ready === 3, 90_000);
  let v = await vmPools();
  assert.equal(v.ports.length, 3, 'three pool ports in Neutron');
  for (const p of v.ports) {
    assert.ok(v.vlanOf.has(p.id), `pool port ${p.id} rides the trunk: ${JSON.stringify([...v.vlanOf])}`);
    assert.equal(p.deviceOwner, 'trunk:subport');
    assert.equal(p.status, 'ACTIVE', `pool subport ${p.id} is ACTIVE before any pod asks`);
  }
  assert.equal(new Set(v.ports.map((p) => v.vlanOf.get(p.id))).size, 3, 'three distinct VLANs');
  assert.equal(v.subports, 3, 'and no other pod port rides the trunk');
  await waitFor('Neutron to name the pool as their holder', async () =>
    (await vmPools()).ports.every((p) => p.deviceId === poolDeviceId(vmName)),
  );
  assert.equal(await agentMetric(c.agent, 'nnet_pool_ports_created_total'), 3);

  // ADD takes a ready subport: its IP, its VLAN, no new subport on the trunk.
  const p = pod();
  const k = call(`npool-${tag}`, p, 'pooled');
  const r = ok(c.rt.call('add', k), 'pooled ADD');
  cleanup.push(() => c.rt.call('del', k));
  const ip = ipOf(r);
  v = await vmPools();
  const taken = v.ports.find((x) => x.fixedIps.some((f) => f.ipAddress === ip));
  assert.ok(taken, `the pod's IP ${ip} is a pool port's`);
  const vlan = v.vlanOf.get(taken.id)!;
  assert.equal(await agentMetric(c.agent, 'nnet_pool_hits_total'), 1);
  const row = await c.store.attachments.get({ containerId: k.id, ifname: 'eth0' });
  assert.ok(row?.pool, 'the record names the pool');
  assert.deepEqual(row.subport, { trunkId: trunk.id, vlan }, 'the record has the subport and its VLAN');
  const access = vm
    .vsctl('--format=csv', '--no-headings', '--columns=name,tag', 'find', 'Port', `tag=${vlan}`)
    .trim();
  assert.match(
    access,
    new RegExp(`^nn\\w+,${vlan}$`),
    `the VM's access port carries VLAN ${vlan}: ${access}`,
  );
  const first = p.run(['ping', '-c', '3', '-i', '0.2', '-W', '2', peer.fixedIps[0]!.ipAddress]);
  assert.match(first.stdout, / 0% packet loss/, `the first ping right after a pooled ADD: ${first.stdout}`);
  ok(c.rt.call('check', k), 'CHECK of the pooled pod');
  await waitFor('Neutron to name the pod as the holder', async () => {
    const [x] = await c.neutron.ports.list({ id: [taken.id] });
    return x?.deviceId === k.id && x.tags.includes('nnet-pod=pooled');
  });

  // DEL gives it back: still on the trunk on its VLAN, the VM's access port gone.
  ok(c.rt.call('del', k), 'DEL of the pooled pod');
  v = await vmPools();
  assert.equal(v.vlanOf.get(taken.id), vlan, 'the subport stays on the trunk, on its VLAN');
  assert.equal(await agentMetric(c.agent, 'nnet_pool_ports_recycled_total'), 1);
  assert.equal(
    vm.vsctl('--format=csv', '--no-headings', '--columns=name', 'find', 'Port', `tag=${vlan}`).trim(),
    '',
  );
  await waitFor('Neutron to name the pool as the holder again', async () => {
    const [x] = await c.neutron.ports.list({ id: [taken.id] });
    return x?.deviceId === poolDeviceId(vmName) && !x.tags.includes('nnet-pod=pooled');
  });

  // A restarted agent finds its pool on the trunk and makes no port.
  const ids = (await vmPools()).ports.map((x) => x.id).sort();
  await c.restartAgent({ kill: true });
  await waitFor('the restarted agent to rebuild its pool', () =>
    c.agent.lines().some((l) => l.msg === 'pools rebuilt'),
  );
  await waitFor(
    'the restarted agent to record it',
    async () => (await vmPools()).record?.ready === ids.length,
  );
  assert.deepEqual((await vmPools()).ports.map((x) => x.id).sort(), ids, 'the same pool ports');
  assert.equal(
    await agentMetric(c.agent, 'nnet_pool_ports_created_total'),
    0,
    'no port made after the restart',
  );

  // Pools off: every free pool subport leaves the trunk and is deleted.
  await setPoolSettings(c, undefined);
  await waitFor('pools off to drain the trunk', async () => {
    const x = await vmPools();
    return x.ports.length === 0 && x.subports === 0;
  });
  await assertNothingLeft('pools off');

  // Pools on again, then the cluster's delete (its agent stopped first) drains them off the trunk.
  await setPoolSettings(c, { min: 2, max: 2, batch: 2 });
  await waitFor('the VM pool to fill to 2', async () => (await vmPools()).record?.ready === 2, 90_000);
  // No agent may make ports meanwhile (the bare-metal node's keeps its node port), and, as
  // `kubenetctl delete cluster` demands, no podnetwork is left (their reservations hold groups).
  await c.agent.stop();
  for (const a of otherAgents) await a.stop();
  for (const pc of await c.store.podConfigs.list({ cluster: c.name })) {
    const del = clusterKubenetctl(c, ['delete', 'podnetwork', pc.pod, '-n', pc.namespace]);
    assert.equal(del.status, 0, del.stderr);
  }
  const access2 = (await c.store.clusters.get(c.name))?.nodeAccess;
  const released = await releaseClusterNodes(c.neutron, c.name, access2, [vmName, vm2Name, c.name]).catch(
    async (e: unknown) => {
      const users = (await c.neutron.ports.list({})).filter((p) =>
        p.securityGroups.includes(access2?.securityGroupId ?? ''),
      );
      throw new Error(
        `${e}; the group's ports: ${JSON.stringify(users.map((p) => [p.id, p.name, p.deviceOwner, p.deviceId, p.tags]))}`,
      );
    },
  );
  assert.ok(released.ports.length >= 2, `the delete released the pool ports: ${JSON.stringify(released)}`);
  await assertNothingLeft('the cluster delete');
  for (const id of [trunk.id, trunk2.id])
    assert.deepEqual(
      (await c.neutron.trunks.get(id)).subPorts,
      [],
      `nothing rides trunk ${id}, no node port either`,
    );
});
