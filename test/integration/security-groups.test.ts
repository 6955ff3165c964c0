/**
 * Per-pod security groups, end to end on real Keystone, Neutron/OVN and OVS, through kubenetctl
 * (as a project member) and libcni: pod A's own group admits TCP 8080 from pod B and nothing else;
 * `kubenetctl set podnetwork A --security-group …` swaps it on the running pod for one that admits
 * TCP 9090 and ICMP from B, with no CNI call, no re-plug and no IP change; the node's own probes
 * reach A whatever its groups (the cluster's node-access group); unknown groups are refused before
 * anything is reserved or changed. Neutron is read back independently of kubenetctl.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { completeNodeAccess } from '../../src/resources/index.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { logLines } from '../support/cni.ts';
import { clusterKubenetctl } from '../support/kubenetctl.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

let c: TestCluster;
const cleanup: (() => unknown)[] = [];
const servers: ChildProcess[] = [];

const kubenetctl = (args: string[]) => clusterKubenetctl(c, args);

function ok(args: string[]): string {
  const r = kubenetctl(args);
  assert.equal(r.status, 0, `kubenetctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Whether a TCP connection from `from` to ip:port is made within 2 s (refused and dropped: false). */
function connects(from: TestNetns, ip: string, port: number): boolean {
  return from.run(['timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/${ip}/${port}`]).code === 0;
}

function pings(from: TestNetns, ip: string): boolean {
  return from.run(['ping', '-c', '1', '-W', '1', ip]).code === 0;
}

async function waitFor(what: string, fn: () => boolean, ms = 60_000): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (fn()) return Date.now() - t0;
    await sleep(250);
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

/** Asserts `fn` stays false on several tries a second apart (a flow OVN drops stays dropped). */
async function staysFalse(what: string, fn: () => boolean): Promise<void> {
  for (let i = 0; i < 3; i++) {
    assert.equal(fn(), false, what);
    await sleep(1000);
  }
}

const cniCalls = () => logLines(c.rt).filter((l) => typeof l.durationMs === 'number').length;

async function group(name: string, rules: { protocol: 'tcp' | 'icmp'; port?: number }[], from: string) {
  const g = await c.neutron.securityGroups.create({ name, tags: ['nnet-test', c.name] });
  cleanup.push(() => c.neutron.securityGroups.ensureDeleted(g.id));
  for (const r of rules)
    await c.neutron.securityGroupRules.create({
      securityGroupId: g.id,
      direction: 'ingress',
      protocol: r.protocol,
      ...(r.port !== undefined ? { portRangeMin: r.port, portRangeMax: r.port } : {}),
      remoteIpPrefix: `${from}/32`,
    });
  return g;
}

interface Pod {
  netns: TestNetns;
  call: { id: string; netns: string; args: Record<string, string> };
  ip: string;
}

function addPod(name: string): Pod {
  const netns = createNetns('nntsg');
  cleanup.push(() => netns.remove());
  const call = {
    id: randomBytes(16).toString('hex'),
    netns: netns.path,
    args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: name },
  };
  const r = c.rt.call('add', call);
  assert.equal(r.code, 0, `ADD ${name}: ${r.stdout} ${r.stderr}`);
  cleanup.push(() => c.rt.call('del', call));
  const ip = String((r.json!.ips as { address: string }[])[0]!.address).split('/')[0]!;
  return { netns, call, ip };
}

/** A busybox httpd listening in the pod on `port` (stopped by its PID at the end). */
function serve(pod: Pod, port: number): void {
  const dir = join(c.rt.dir, `www-${port}`);
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    'ip',
    ['netns', 'exec', pod.netns.name, 'busybox', 'httpd', '-f', '-p', String(port), '-h', dir],
    {
      stdio: 'ignore',
    },
  );
  servers.push(child);
}

before(async () => {
  c = await startTestCluster({ prefix: 'nntsg', backend: 'sqlite' });
});

after(async () => {
  for (const s of servers) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
  for (const fn of cleanup.reverse())
    await Promise.resolve()
      .then(fn)
      .catch(() => undefined);
  kubenetctl(['delete', 'podnetwork', 'web-a', '-n', 'default', '--force']);
  await c?.stop();
});

test("a pod's own security group admits only what it says; set podnetwork swaps it on the running pod with no CNI call; the node's probes get through whatever the groups", async () => {
  const b = addPod('client-b');
  const only8080 = await group(`${c.name}-tcp8080`, [{ protocol: 'tcp', port: 8080 }], b.ip);
  const only9090 = await group(
    `${c.name}-tcp9090-icmp`,
    [{ protocol: 'tcp', port: 9090 }, { protocol: 'icmp' }],
    b.ip,
  );

  ok(['create', 'podnetwork', 'web-a', '-n', 'default', '--security-group', only8080.name]);
  const a = addPod('web-a');
  serve(a, 8080);
  serve(a, 9090);
  const portOf = async () =>
    (await c.neutron.ports.list({ tags: [`nnet-cluster=${c.name}`, 'nnet-pod=web-a'] }))[0]!;
  const access = (await c.store.clusters.get(c.name))?.nodeAccess?.securityGroupId;
  assert.ok(access, 'the cluster has a node-access group');
  assert.deepEqual(
    (await portOf()).securityGroups.sort(),
    [only8080.id, access].sort(),
    "A's port, as Neutron has it",
  );

  await waitFor('B to connect to A:8080', () => connects(b.netns, a.ip, 8080));
  await staysFalse('B must not reach A:9090', () => connects(b.netns, a.ip, 9090));
  await staysFalse('B must not ping A (no ICMP rule)', () => pings(b.netns, a.ip));
  // The node's own probes: admitted by the node-access group, not by A's.
  await waitFor(
    "the node's probe to reach A:9090",
    () => c.node.exec(['timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/${a.ip}/9090`]).code === 0,
  );

  const callsBefore = cniCalls();
  const eth0Before = a.netns.exec(['cat', '/sys/class/net/eth0/ifindex']).trim();
  ok(['set', 'podnetwork', 'web-a', '-n', 'default', '--security-group', only9090.name]);
  assert.deepEqual(
    (await portOf()).securityGroups.sort(),
    [only9090.id, access].sort(),
    'Neutron has the new set',
  );
  const flippedMs = await waitFor('B to connect to A:9090 once A has the new group', () =>
    connects(b.netns, a.ip, 9090),
  );
  console.log(`security-groups: the new group took effect on the running pod after ${flippedMs} ms`);
  await waitFor('B to ping A (the new group admits ICMP)', () => pings(b.netns, a.ip));
  await staysFalse('B must no longer reach A:8080', () => connects(b.netns, a.ip, 8080));
  assert.equal(cniCalls(), callsBefore, 'no CNI call was made');
  assert.equal(
    a.netns.exec(['cat', '/sys/class/net/eth0/ifindex']).trim(),
    eth0Before,
    'no re-plug: the same NIC',
  );
  assert.equal((await portOf()).fixedIps[0]!.ipAddress, a.ip, 'the same IP');

  const wide = ok(['get', 'podnetworks', 'web-a', '-n', 'default', '-o', 'wide']);
  assert.match(wide, /SECURITY-GROUPS/);
  assert.ok(wide.includes(only9090.name), wide);
  assert.ok(!wide.includes(only8080.name), wide);
  const config = await c.store.podConfigs.get({ cluster: c.name, namespace: 'default', pod: 'web-a' });
  assert.deepEqual(
    config?.nics[0]?.securityGroupIds,
    [only9090.id],
    'the store keeps the pod’s choice for its next ADD',
  );
});

test('an unknown security group is refused naming it: create podnetwork reserves nothing, set podnetwork changes nothing', async () => {
  const before = await c.neutron.ports.list({ tags: [`nnet-cluster=${c.name}`] });
  const bad = `${c.name}-no-such-group`;
  const r = kubenetctl(['create', 'podnetwork', 'web-c', '-n', 'default', '--security-group', bad]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`security group "${bad}" does not exist in your project`));
  assert.deepEqual(
    (await c.neutron.ports.list({ tags: [`nnet-cluster=${c.name}`] })).map((p) => p.id).sort(),
    before.map((p) => p.id).sort(),
    'no port was reserved',
  );
  assert.equal(
    await c.store.podConfigs.get({ cluster: c.name, namespace: 'default', pod: 'web-c' }),
    undefined,
  );

  const portBefore = (await c.neutron.ports.list({ tags: [`nnet-cluster=${c.name}`, 'nnet-pod=web-a'] }))[0];
  const s = kubenetctl(['set', 'podnetwork', 'web-a', '-n', 'default', '--security-group', bad]);
  assert.equal(s.status, 1, s.stderr);
  assert.match(s.stderr, new RegExp(`security group "${bad}" does not exist in your project`));
  const portAfter = (await c.neutron.ports.list({ tags: [`nnet-cluster=${c.name}`, 'nnet-pod=web-a'] }))[0];
  assert.deepEqual(portAfter?.securityGroups, portBefore?.securityGroups, "the port's groups are unchanged");
  const config = await c.store.podConfigs.get({ cluster: c.name, namespace: 'default', pod: 'web-a' });
  assert.equal(config?.nics[0]?.securityGroupIds?.length, 1, 'and so is its config');
});

test("an older N-Net's node-access group (an address group, which this ML2/OVN enforces as 'from anywhere') is replaced on the pods that carry it at the next ADD", async () => {
  // What an older N-Net made: an address group of the node ports and a group admitting it.
  const ag = await c.neutron.addressGroups.create({ name: `nnet-${c.name}-nodes`, addresses: [] });
  cleanup.push(() => c.neutron.addressGroups.ensureDeleted(ag.id));
  const legacy = await c.neutron.securityGroups.create({
    name: `nnet-${c.name}-node-access-old`,
    tags: ['nnet', `nnet-cluster=${c.name}`, 'nnet-node-access'],
  });
  cleanup.push(() => c.neutron.securityGroups.ensureDeleted(legacy.id));
  for (const ethertype of ['IPv4', 'IPv6'] as const)
    await c.neutron.securityGroupRules.create({
      securityGroupId: legacy.id,
      direction: 'ingress',
      ethertype,
      remoteAddressGroupId: ag.id,
    });
  const old = addPod('made-by-old');
  const oldPort = (
    await c.neutron.ports.list({ tags: [`nnet-cluster=${c.name}`, 'nnet-pod=made-by-old'] })
  )[0]!;
  const current = completeNodeAccess((await c.store.clusters.get(c.name))?.nodeAccess)!;
  await c.neutron.ports.update(oldPort.id, {
    securityGroups: oldPort.securityGroups.map((g) => (g === current.securityGroupId ? legacy.id : g)),
  });
  await c.store.clusters.update(c.name, (cur) => {
    if (!cur) return undefined;
    const { createdAt: _, ...rest } = cur;
    return { ...rest, nodeAccess: { addressGroupId: ag.id, securityGroupId: legacy.id } };
  });

  addPod('after-upgrade'); // its ADD finds the older record
  const made = completeNodeAccess((await c.store.clusters.get(c.name))?.nodeAccess);
  assert.ok(made, 'the record holds a group of the current kind');
  assert.notEqual(made.securityGroupId, legacy.id);
  const groups = (await c.neutron.ports.get(oldPort.id)).securityGroups;
  assert.ok(
    groups.includes(made.securityGroupId) && !groups.includes(legacy.id),
    `the older pod's port: ${groups}`,
  );
  await assert.rejects(
    c.neutron.securityGroups.get(legacy.id),
    /not found|404|could not be found/i,
    'the old group is gone',
  );
  await assert.rejects(
    c.neutron.addressGroups.get(ag.id),
    /not found|404|could not be found/i,
    'the address group too',
  );
  const admitted = (await c.neutron.securityGroups.get(made.securityGroupId)).rules.flatMap((r) =>
    r.direction === 'ingress' && r.remoteIpPrefix ? [r.remoteIpPrefix] : [],
  );
  const nodeIps = (
    await c.neutron.ports.list({ tags: [`nnet-cluster=${c.name}`, 'nnet-node-port'] })
  ).flatMap((p) => p.fixedIps.map((f) => `${f.ipAddress}/32`));
  assert.deepEqual(admitted.sort(), nodeIps.sort(), 'the new group admits the node ports');
  assert.ok(old.ip, 'the older pod keeps its address');
});
