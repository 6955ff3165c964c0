/**
 * Dual-stack and IPv6-only pods end to end, through libcni, on two real nodes with real Neutron
 * (an IPv4 and an IPv6 subnet per network, a router joining them), OVN and OVS: both addresses,
 * one default route per family, a spec-valid result, CHECK, pings over IPv4 and IPv6 on the same
 * host and across hosts and subnets, an ovs-vswitchd restart, and a DEL that leaves nothing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { Network, Subnet } from '../../src/neutron/index.ts';
import { DEVICE_OWNER, reservePort } from '../../src/resources/index.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import type { HarnessResult } from '../support/cni.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

const PREFIX = 'nntd6';
let c: TestCluster;
let v6a: Subnet;
let netB: Network;
let v4b: Subnet;
let v6b: Subnet;
let netC: Network;
let v6c: Subnet;
let routerId: string;
const undo: (() => unknown)[] = [];

interface Pod {
  name: string;
  node: 0 | 1;
  netns: TestNetns;
  call: { id: string; netns: string; args: Record<string, string> };
  ips: string[];
  result: Record<string, unknown>;
}
const pods: Record<string, Pod> = {};

function ok(r: HarnessResult, what: string): Record<string, unknown> {
  assert.equal(r.code, 0, `${what} failed: ${r.stdout} ${r.stderr}`);
  return r.json ?? {};
}

/** A pod through libcni; with `fixed`, a reservation first, as kubenetctl makes it. */
async function addPod(
  name: string,
  node: 0 | 1,
  fixed?: { networkId: string; fixedIps: { subnetId: string; ip?: string }[] },
): Promise<Pod> {
  if (fixed) {
    const ref = { cluster: c.name, namespace: 'default', pod: name };
    const port = await reservePort(c.neutron, { pod: ref, ...fixed });
    undo.push(() => c.neutron.ports.ensureDeleted(port.id));
    await c.store.podConfigs.create({
      ...ref,
      nics: [
        { ifname: 'eth0', networkId: fixed.networkId, fixedIps: fixed.fixedIps, reservedPortId: port.id },
      ],
    });
    undo.push(() => c.store.podConfigs.delete(ref));
  }
  const netns = createNetns(PREFIX);
  undo.push(() => netns.remove());
  const call = {
    id: `${name}-${netns.name}`,
    netns: netns.path,
    args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: name },
  };
  const result = ok(await c.rts[node]!.callAsync('add', call), `ADD ${name}`);
  undo.push(() => c.rts[node]!.call('del', call));
  const ips = (result.ips as { address: string }[]).map((i) => i.address.split('/')[0]!);
  const pod = { name, node, netns, call, ips, result };
  pods[name] = pod;
  return pod;
}

const v4 = (p: Pod) => p.ips.find((i) => !i.includes(':'))!;
const v6 = (p: Pod) => p.ips.find((i) => i.includes(':'))!;

function run(argv: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => {
      out += b;
    });
    child.stderr.on('data', (b) => {
      out += b;
    });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

async function waitFor(what: string, fn: () => Promise<boolean>, deadlineMs = 60_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Pings until three in a row answer (OVN may drop the first packets of a new flow), within a deadline. */
async function pings(from: Pod, to: string, deadlineMs = 30_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  let last = '';
  for (;;) {
    const r = await run([
      'ip',
      'netns',
      'exec',
      from.netns.name,
      'ping',
      '-c',
      '3',
      '-i',
      '0.2',
      '-W',
      '2',
      to,
    ]);
    if (r.code === 0 && / 0% packet loss/.test(r.out)) return;
    last = r.out;
    if (Date.now() > until) throw new Error(`${from.name} → ${to}: ${last}`);
  }
}

describe('dual-stack and IPv6-only pods', () => {
  before(async () => {
    c = await startTestCluster({ prefix: PREFIX, backend: 'sqlite', nodes: 2 });
    const sub6 = (networkId: string, cidr: string, gatewayIp: string) =>
      c.neutron.subnets.create({
        networkId,
        cidr,
        ipVersion: 6,
        gatewayIp,
        ipv6AddressMode: 'dhcpv6-stateful',
        ipv6RaMode: 'dhcpv6-stateful',
      });
    v6a = await sub6(c.network.id, 'fd00:12::/64', 'fd00:12::1');
    netB = await c.neutron.networks.create({ name: `${c.name}-b` });
    netC = await c.neutron.networks.create({ name: `${c.name}-c` });
    // Networks of the cluster's own, as kubenetctl would record them: N-Net puts pods nowhere else.
    for (const n of [netB, netC])
      await c.store.resources.put({ kind: 'network', id: n.id, name: n.name, cluster: c.name });
    undo.push(async () => {
      for (const n of [netB, netC]) {
        for (const p of await c.neutron.ports.list({ networkId: n.id }))
          await c.neutron.ports.ensureDeleted(p.id);
        await c.neutron.networks.ensureDeleted(n.id);
      }
    });
    v4b = await c.neutron.subnets.create({ networkId: netB.id, cidr: '192.168.10.0/24' });
    v6b = await sub6(netB.id, 'fd00:13::/64', 'fd00:13::1');
    v6c = await sub6(netC.id, 'fd00:14::/64', 'fd00:14::1');
    const router = await c.neutron.routers.create({ name: `${c.name}-r` });
    routerId = router.id;
    const joined = [c.subnet.id, v6a.id, v4b.id, v6b.id, v6c.id];
    undo.push(async () => {
      for (const s of joined)
        await c.neutron.routers.removeInterface(routerId, { subnetId: s }).catch(() => undefined);
      await c.neutron.routers.ensureDeleted(routerId);
    });
    for (const s of joined) await c.neutron.routers.addInterface(routerId, { subnetId: s });
    // d1: static IPv4 and IPv6 on node 1; d2 dynamic on node 1; d3 on node 2, same network;
    // d4 on node 2, network B (other subnets, through the router); six: IPv6-only, node 2, network C.
    await addPod('d1', 0, {
      networkId: c.network.id,
      fixedIps: [
        { subnetId: c.subnet.id, ip: '1.2.0.100' },
        { subnetId: v6a.id, ip: 'fd00:12::100' },
      ],
    });
    await addPod('d2', 0);
    await addPod('d3', 1);
    await addPod('d4', 1, { networkId: netB.id, fixedIps: [{ subnetId: v4b.id }, { subnetId: v6b.id }] });
    await addPod('six', 1, { networkId: netC.id, fixedIps: [{ subnetId: v6c.id, ip: 'fd00:14::6' }] });
  });
  after(async () => {
    for (const f of undo.reverse())
      await Promise.resolve()
        .then(f)
        .catch(() => undefined);
    await c?.stop();
  });

  test('a dual-stack pod with static IPv4 and IPv6 gets both, one default route per family, a valid result', () => {
    const d1 = pods.d1!;
    assert.deepEqual(d1.ips, ['1.2.0.100', 'fd00:12::100']);
    const r = d1.result as {
      ips: { address: string; gateway?: string }[];
      routes: { dst: string; gw?: string }[];
    };
    assert.deepEqual(
      r.ips.map((i) => [i.address, i.gateway]),
      [
        ['1.2.0.100/16', '1.2.0.1'],
        ['fd00:12::100/64', 'fd00:12::1'],
      ],
    );
    assert.deepEqual(
      r.routes.filter((x) => x.dst === '0.0.0.0/0' || x.dst === '::/0'),
      [
        { dst: '0.0.0.0/0', gw: '1.2.0.1' },
        { dst: '::/0', gw: 'fd00:12::1' },
      ],
    );
    const addrs = d1.netns.exec(['ip', '-6', 'addr', 'show', 'dev', 'eth0']);
    assert.match(addrs, /inet6 fd00:12::100\/64/);
    assert.doesNotMatch(
      addrs,
      /fd00:12::100\/64.*tentative/,
      'no duplicate address detection pending after ADD',
    );
    assert.match(d1.netns.exec(['ip', '-6', 'route', 'show', 'default']), /default via fd00:12::1 dev eth0/);
    assert.match(d1.netns.exec(['ip', 'route', 'show', 'default']), /default via 1\.2\.0\.1 dev eth0/);
    assert.equal(pods.d2!.ips.length, 2, 'a pod without static IPs gets one address per family too');
  });

  test('CHECK passes for the dual-stack pod and the IPv6-only pod once Neutron shows their ports ACTIVE', async () => {
    for (const p of [pods.d1!, pods.six!]) {
      const portId = (await c.store.attachments.get({ containerId: p.call.id, ifname: 'eth0' }))!.portId;
      await waitFor(
        `${p.name}'s port ACTIVE`,
        async () => (await c.neutron.ports.get(portId)).status === 'ACTIVE',
      );
    }
    ok(c.rts[0]!.call('check', pods.d1!.call), 'CHECK of d1');
    ok(c.rts[1]!.call('check', pods.six!.call), 'CHECK of the IPv6-only pod');
  });

  test('pings over IPv4 and IPv6: same host, across hosts, across subnets through the router', async () => {
    const [d1, d2, d3, d4] = [pods.d1!, pods.d2!, pods.d3!, pods.d4!];
    for (const [from, to] of [
      [d1, d2],
      [d1, d3],
      [d1, d4],
      [d4, d2],
    ] as const) {
      await pings(from, v4(to));
      await pings(from, v6(to));
    }
  });

  test('an IPv6-only pod gets its address and ::/0 only, and reaches others over IPv6 across hosts and subnets', async () => {
    const six = pods.six!;
    assert.deepEqual(six.ips, ['fd00:14::6']);
    const r = six.result as { routes: { dst: string }[] };
    assert.ok(!r.routes.some((x) => x.dst === '0.0.0.0/0'), 'no IPv4 default route');
    await pings(six, v6(pods.d1!));
    await pings(pods.d1!, 'fd00:14::6');
  });

  test('a dual-stack pod keeps both families through an ovs-vswitchd restart (the agent re-plugs it)', async () => {
    // The node's own nnet-agent (the fixture runs one per node) sees vswitchd come back and re-plugs.
    const agent = c.agents[0]!;
    await c.nodes[0]!.restartVswitchd('SIGKILL');
    await waitFor('the node agent to re-plug d1', async () =>
      agent.lines().some((l) => l.msg === 're-plugged pod NIC' && l.pod === 'default/d1'),
    );
    ok(c.rts[0]!.call('check', pods.d1!.call), 'CHECK after the re-plug');
    await pings(pods.d1!, v4(pods.d3!));
    await pings(pods.d1!, v6(pods.d3!));
  });

  test('DEL leaves no port, OVS port, record or device; the reservations stay unbound', async () => {
    for (const p of Object.values(pods)) ok(c.rts[p.node]!.call('del', p.call), `DEL ${p.name}`);
    for (const p of Object.values(pods))
      assert.doesNotMatch(p.netns.exec(['ip', '-o', 'link']), /eth0/, `${p.name}'s eth0 is gone`);
    const made = await c.neutron.ports.list({ deviceOwner: DEVICE_OWNER, tags: [`nnet-cluster=${c.name}`] });
    assert.ok(
      made.every((p) => p.tags.includes('nnet-reserved') && p.hostId === ''),
      'only unbound reservations',
    );
    assert.deepEqual(await c.store.attachments.list({ cluster: c.name }), []);
  });
});
