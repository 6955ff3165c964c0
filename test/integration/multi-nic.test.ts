/**
 * A pod with a second NIC the way Multus delegates it, on real Neutron/OVN/OVS through libcni:
 * the runtime calls nnet for `eth0` with the cluster's conflist, then for `net1` with a second
 * conflist (a network attachment) whose nnet config names another network. Each NIC gets its own
 * Neutron port, OVS port and record; only eth0 carries the default route; the pod reaches pods on
 * both networks; CHECK passes on each; the agent re-plugs both after ovs-vswitchd restarts; the
 * DELs leave nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Network, Subnet } from '../../src/neutron/index.ts';
import { listPorts } from '../../src/plug/index.ts';
import { DEVICE_OWNER } from '../../src/resources/index.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { type CniRuntime, cniRuntime, type HarnessCall, type HarnessResult } from '../support/cni.ts';
import { clusterKubenetctl } from '../support/kubenetctl.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

let c: TestCluster;
let net2: Network;
let sub2: Subnet;
let attachment: CniRuntime; // the second conflist, as a NetworkAttachmentDefinition gives Multus
const cleanup: (() => unknown)[] = [];

function ok(r: HarnessResult, what: string): Record<string, unknown> {
  assert.equal(r.code, 0, `${what} failed: ${r.stdout} ${r.stderr}`);
  return r.json ?? {};
}

const ipOf = (r: Record<string, unknown>) =>
  String((r.ips as { address: string }[])[0]!.address).split('/')[0]!;
const pings = (from: TestNetns, ip: string) => from.run(['ping', '-c', '1', '-W', '1', ip]).code === 0;

async function waitFor(what: string, fn: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return;
    await sleep(250);
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

function pod(): TestNetns {
  const p = createNetns('nntmn');
  cleanup.push(() => p.remove());
  return p;
}

/** A one-NIC pod through `rt` (DEL at the end); its address. */
function peer(rt: CniRuntime, netns: TestNetns, id: string, name: string): string {
  const call: HarnessCall = {
    id,
    netns: netns.path,
    args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: name },
  };
  const ip = ipOf(ok(rt.call('add', call), `ADD ${name}`));
  cleanup.push(() => rt.call('del', call));
  return ip;
}

before(async () => {
  c = await startTestCluster({ prefix: 'nntmn', backend: 'sqlite' });
  net2 = await c.neutron.networks.create({ name: `${c.name}-net2` });
  sub2 = await c.neutron.subnets.create({
    networkId: net2.id,
    name: `${c.name}-sub2`,
    ipVersion: 4,
    cidr: '10.77.0.0/24',
  });
  cleanup.push(async () => {
    for (const p of await c.neutron.ports.list({ networkId: net2.id }))
      await c.neutron.ports.ensureDeleted(p.id);
    await c.neutron.subnets.ensureDeleted(sub2.id);
    await c.neutron.networks.ensureDeleted(net2.id);
  });
  // The second network is one the cluster may use (its allow-list).
  await c.store.clusters.update(c.name, (cur) => {
    if (!cur) return undefined;
    const { createdAt: _, ...rest } = cur;
    return { ...rest, allowedNetworkIds: [net2.id] };
  });
  attachment = cniRuntime({
    prefix: `${c.name}-att`,
    networkName: 'storage',
    plugin: { ...c.rt.plugin, network: net2.id },
  });
  cleanup.push(() => attachment.remove());
});

after(async () => {
  for (const fn of cleanup.reverse())
    await Promise.resolve()
      .then(fn)
      .catch(() => undefined);
  await c?.stop();
});

test('a pod with eth0 on network 1 and net1 on network 2 (a Multus-style second conflist) reaches pods on both; only eth0 has the default route; CHECK, re-plug and DEL handle each NIC', async () => {
  const seed = randomBytes(4).toString('hex');
  // Two peers: one on each network.
  const q1 = pod();
  const q1Ip = peer(c.rt, q1, `q1-${seed}`, 'q1');
  const q2Ip = peer(attachment, pod(), `q2-${seed}`, 'q2');
  assert.match(q2Ip, /^10\.77\.0\./);

  const p = pod();
  const args = { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'two-nics' };
  const eth0: HarnessCall = { id: `p-${seed}`, netns: p.path, ifname: 'eth0', args };
  const net1: HarnessCall = { ...eth0, ifname: 'net1' };
  const r0 = ok(c.rt.call('add', eth0), 'ADD eth0');
  cleanup.push(() => c.rt.call('del', eth0));
  const r1 = ok(attachment.call('add', net1), 'ADD net1');
  cleanup.push(() => attachment.call('del', net1));
  assert.match(ipOf(r1), /^10\.77\.0\./, 'net1 has an address of network 2');
  const routes = (r: Record<string, unknown>) => ((r.routes as { dst: string }[]) ?? []).map((x) => x.dst);
  assert.ok(
    routes(r0).includes('0.0.0.0/0'),
    `eth0's result has the default route: ${JSON.stringify(r0.routes)}`,
  );
  assert.ok(!routes(r1).includes('0.0.0.0/0'), `net1's result has none: ${JSON.stringify(r1.routes)}`);

  const defaults = p.exec(['ip', '-4', 'route', 'show', 'default']).trim().split('\n');
  assert.equal(defaults.length, 1, defaults.join('\n'));
  assert.match(defaults[0]!, /dev eth0/);
  assert.match(p.exec(['ip', '-4', 'route', 'show', 'dev', 'net1']), /10\.77\.0\.0\/24/);

  // Each NIC is its own Neutron port, OVS port and record.
  const rows = (await c.store.attachments.list({ node: c.name })).filter((a) => a.containerId === eth0.id);
  assert.deepEqual(rows.map((a) => a.ifname).sort(), ['eth0', 'net1']);
  assert.notEqual(rows[0]!.portId, rows[1]!.portId);
  const ovs = (await listPorts(c.node.plugSettings())).map((x) => x.ifaceId);
  for (const a of rows) assert.ok(ovs.includes(a.portId), `OVS has port ${a.portId}`);

  await waitFor('the pod to ping q1 over eth0', () => pings(p, q1Ip));
  await waitFor('the pod to ping q2 over net1', () => pings(p, q2Ip));
  ok(c.rt.call('check', eth0), 'CHECK eth0');
  ok(attachment.call('check', net1), 'CHECK net1');

  // The agent brings both NICs back after ovs-vswitchd restarts.
  await c.node.restartVswitchd();
  await waitFor('the pod to ping q1 again', () => pings(p, q1Ip));
  await waitFor('the pod to ping q2 again', () => pings(p, q2Ip));
  ok(attachment.call('check', net1), 'CHECK net1 after the re-plug');

  ok(attachment.call('del', net1), 'DEL net1');
  ok(c.rt.call('del', eth0), 'DEL eth0');
  const left = (await c.store.attachments.list({ node: c.name })).filter((a) => a.containerId === eth0.id);
  assert.deepEqual(left, [], 'no record');
  const ovsAfter = (await listPorts(c.node.plugSettings())).map((x) => x.ifaceId);
  for (const a of rows) {
    assert.ok(!ovsAfter.includes(a.portId), `no OVS port ${a.portId}`);
    assert.deepEqual(
      (await c.neutron.ports.list({ id: [a.portId], deviceOwner: DEVICE_OWNER })).map((x) => x.id),
      [],
      `no Neutron port ${a.portId}`,
    );
  }
  const devices = p
    .exec(['ip', '-br', 'link'])
    .split('\n')
    .map((l) => l.split(/\s+/)[0])
    .filter((n) => n && n !== 'lo');
  assert.deepEqual(devices, [], 'nothing but lo in the pod');
});

test('kubenetctl create podnetwork --network A --network B@IP: one ADD of eth0 gives the pod net1 on B with that IP; DEL takes both; bad requests leave nothing', async () => {
  const seed = randomBytes(4).toString('hex');
  const ctl = (args: string[]) => clusterKubenetctl(c, args);
  const made = ctl([
    'create',
    'podnetwork',
    'db1',
    '-n',
    'default',
    '--network',
    c.network.name,
    '--network',
    `${net2.name}@10.77.0.50`,
  ]);
  assert.equal(made.status, 0, made.stderr);
  cleanup.push(() => ctl(['delete', 'podnetwork', 'db1', '-n', 'default', '--force']));
  const config = await c.store.podConfigs.get({ cluster: c.name, namespace: 'default', pod: 'db1' });
  assert.deepEqual(
    config?.nics.map((n) => [n.ifname, n.networkId]),
    [
      ['eth0', c.network.id],
      ['net1', net2.id],
    ],
  );
  const reserved = config!.nics.map((n) => n.reservedPortId!);
  const net1Port = await c.neutron.ports.get(reserved[1]!);
  assert.deepEqual(
    net1Port.fixedIps.map((f) => f.ipAddress),
    ['10.77.0.50'],
    'the IP is reserved at once',
  );

  const q2Ip = peer(attachment, pod(), `q2b-${seed}`, 'q2b');

  const p = pod();
  const call: HarnessCall = {
    id: `db1-${seed}`,
    netns: p.path,
    args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'db1' },
  };
  const r = ok(c.rt.call('add', call), 'ADD eth0 (and net1 from the config)');
  cleanup.push(() => c.rt.call('del', call));
  const ifaces = (r.interfaces as { name: string; sandbox?: string }[]).filter((i) => i.sandbox);
  assert.deepEqual(
    ifaces.map((i) => i.name),
    ['eth0', 'net1'],
    JSON.stringify(r.interfaces),
  );
  assert.match(p.exec(['ip', '-4', '-o', 'addr', 'show', 'dev', 'net1']), /inet 10\.77\.0\.50\/24/);
  const defaults = p.exec(['ip', '-4', 'route', 'show', 'default']).trim().split('\n');
  assert.equal(defaults.length, 1, defaults.join('\n'));
  assert.match(defaults[0]!, /dev eth0/);
  await waitFor('db1 to ping the peer on network 2 over net1', () => pings(p, q2Ip));
  ok(c.rt.call('check', call), 'CHECK checks both NICs');

  // A Multus attachment naming net1 too would make a second net1: refused, naming it.
  const clash = attachment.call('add', { ...call, ifname: 'net1' });
  assert.equal(clash.code, 2, clash.stdout);
  assert.match(String(clash.json?.msg), /interface net1 .* is an N-Net NIC made with eth0/);

  ok(c.rt.call('del', call), 'DEL eth0 takes net1 along');
  assert.deepEqual(
    (await c.store.attachments.list({ node: c.name })).filter((a) => a.containerId === call.id),
    [],
    'no record of either NIC',
  );
  const ovs = (await listPorts(c.node.plugSettings())).map((x) => x.ifaceId);
  for (const id of reserved) {
    assert.ok(!ovs.includes(id), `no OVS port for ${id}`);
    assert.equal(
      (await c.neutron.ports.get(id)).hostId,
      '',
      `reservation ${id} unbound, kept for the pod's next start`,
    );
  }
  assert.deepEqual(
    p
      .exec(['ip', '-br', 'link'])
      .split('\n')
      .map((l) => l.split(/\s+/)[0])
      .filter((n) => n && n !== 'lo'),
    [],
  );

  // A second network that does not exist: exit 1 naming it, nothing reserved.
  const before = (await c.neutron.ports.list({ networkId: c.network.id })).length;
  const bad = ctl([
    'create',
    'podnetwork',
    'db2',
    '-n',
    'default',
    '--network',
    c.network.name,
    '--network',
    `${c.name}-nosuch`,
  ]);
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, new RegExp(`${c.name}-nosuch`));
  assert.equal((await c.neutron.ports.list({ networkId: c.network.id })).length, before, 'no port reserved');
  assert.equal(
    await c.store.podConfigs.get({ cluster: c.name, namespace: 'default', pod: 'db2' }),
    undefined,
  );
});
