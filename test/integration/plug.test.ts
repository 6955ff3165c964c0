/**
 * The plug drivers on a real ovs-vswitchd (userspace datapath, in its own node netns, started by
 * the ovs-node fixture) with real pod network namespaces: connectivity, L2/L3 as asked, idempotency,
 * undo after a failure at every step, and cleanup.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, type TestContext, test } from 'node:test';
import { PlugError } from '../../src/errors/index.ts';
import {
  check,
  deviceNames,
  findPort,
  HYBRID_STEPS,
  INTERNAL_STEPS,
  listPorts,
  type PlugDriver,
  type PlugSettings,
  type PlugSpec,
  type PlugSpecInput,
  parsePlugSpec,
  plug,
  podAlias,
  setSysctls,
  unplug,
} from '../../src/plug/index.ts';
import { withFailureAfter } from '../support/faults.ts';
import { createNetns, execInNetns, onCleanup, type TestNetns } from '../support/netns.ts';
import { type OvsNode, startOvsNode } from '../support/ovs-node.ts';

let node: OvsNode;
const tag = randomBytes(2).toString('hex');

before(async () => {
  node = await startOvsNode({ name: `nntp-dp${tag}` });
});
after(async () => {
  await node?.stop();
});

let nextHost = 10;
function newPod(t: TestContext): TestNetns {
  const pod = createNetns('nntp');
  onCleanup(t, () => pod.remove());
  return pod;
}

function specFor(pod: TestNetns, extra: Partial<PlugSpecInput> = {}): PlugSpec {
  const host = nextHost++;
  return parsePlugSpec({
    portId: randomUUID(),
    mac: `0a:58:0a:5b:00:${host.toString(16).padStart(2, '0')}`,
    ips: [{ address: `10.91.0.${host}`, prefixLength: 24 }],
    routes: [{ dst: '0.0.0.0/0', gateway: '10.91.0.1' }],
    mtu: 1500,
    netns: pod.path,
    ifname: 'eth0',
    podNamespace: 'default',
    podName: pod.name,
    containerId: `ctr-${pod.name}`,
    ...extra,
  });
}

/** A pod plugged with `driver`, unplugged after the test. */
async function pluggedPod(t: TestContext, driver: PlugDriver, extra: Partial<PlugSpecInput> = {}) {
  const pod = newPod(t);
  const settings = node.plugSettings({ driver });
  const spec = specFor(pod, extra);
  onCleanup(t, () => unplug(settings, spec));
  const result = await plug(settings, spec);
  return { pod, settings, spec, result };
}

function linkNames(netns: string): string[] {
  const r = execInNetns(netns, ['ip', '-j', 'link', 'show']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname);
}

function podLinks(pod: TestNetns): { ifname: string; ifalias?: string; address: string; mtu: number }[] {
  return JSON.parse(pod.exec(['ip', '-j', '-d', 'link', 'show']));
}

/** Asserts no trace of the port: no OVS port, no host link in the node or root netns, no NIC in the pod. */
async function assertNothingLeft(settings: PlugSettings, spec: PlugSpec, pod?: TestNetns): Promise<void> {
  const names = Object.values(deviceNames(spec.portId));
  const ports = node.vsctl('list-ports', 'br-int').split('\n').filter(Boolean);
  assert.deepEqual(
    ports.filter((p) => names.includes(p)),
    [],
    'OVS ports left',
  );
  assert.equal(await findPort(settings, spec.portId), undefined, 'an interface still has the iface-id');
  assert.deepEqual(
    linkNames(node.netnsName).filter((n) => names.includes(n)),
    [],
    'links left in the node netns',
  );
  assert.deepEqual(
    linkNames('').filter((n) => names.includes(n)),
    [],
    'links left in the root netns',
  );
  if (pod)
    assert.deepEqual(
      podLinks(pod).map((l) => l.ifname),
      ['lo'],
      'links left in the pod',
    );
}

function ping(from: TestNetns, to: string): void {
  const r = from.run(['ping', '-c', '3', '-i', '0.2', '-W', '2', to], { timeoutMs: 15_000 });
  assert.equal(r.code, 0, `ping ${to} from ${from.name} failed:\n${r.stdout}${r.stderr}`);
}

function ipOf(spec: PlugSpec): string {
  return spec.ips[0]!.address;
}

test('two pods plugged with the internal driver ping each other', async (t) => {
  const a = await pluggedPod(t, 'internal');
  const b = await pluggedPod(t, 'internal');
  ping(a.pod, ipOf(b.spec));
  ping(b.pod, ipOf(a.spec));
});

test('two pods plugged with the hybrid driver ping each other and carry TCP', async (t) => {
  const a = await pluggedPod(t, 'hybrid');
  const b = await pluggedPod(t, 'hybrid');
  ping(a.pod, ipOf(b.spec));
  // TCP stalls on a netdev bridge unless TX offload is off on every veth end: a stalled sender
  // cannot get 32 MB out (socket buffers hold a few MB), so iperf3 would not finish.
  const server = b.pod.spawn(['iperf3', '-s', '-1', '-B', ipOf(b.spec)]);
  onCleanup(t, () => {
    if (server.exitCode === null) server.kill();
  });
  let r = { code: 1, stdout: '', stderr: '' };
  for (let i = 0; i < 20 && r.code !== 0; i++) {
    await new Promise((res) => setTimeout(res, 150));
    r = a.pod.run(['iperf3', '-c', ipOf(b.spec), '-n', '32M', '-J', '--connect-timeout', '2000'], {
      timeoutMs: 20_000,
    });
  }
  assert.equal(r.code, 0, `iperf3 failed: ${r.stdout.slice(-500)} ${r.stderr}`);
  const end = JSON.parse(r.stdout).end;
  assert.ok(end.sum_sent.bytes >= 32 * 1024 * 1024, `sent ${end.sum_sent.bytes} bytes`);
  assert.ok(end.sum_received.bytes >= 16 * 1024 * 1024, `received ${end.sum_received.bytes} bytes`);
});

test('an internal pod and a hybrid pod on the same bridge ping each other', async (t) => {
  const a = await pluggedPod(t, 'internal');
  const b = await pluggedPod(t, 'hybrid');
  ping(a.pod, ipOf(b.spec));
  ping(b.pod, ipOf(a.spec));
});

for (const driver of ['internal', 'hybrid'] as const) {
  test(`${driver}: the pod NIC has the CNI_IFNAME, MAC, MTU, addresses and routes asked for, and check passes`, async (t) => {
    const { pod, settings, spec, result } = await pluggedPod(t, driver, {
      ifname: 'net1',
      mtu: 1400,
      mac: `0a:58:0a:5c:00:${(nextHost + 100).toString(16)}`,
      ips: [
        { address: `10.92.0.${nextHost}`, prefixLength: 24 },
        { address: `fd00:92::${nextHost.toString(16)}`, prefixLength: 64 },
      ],
      routes: [
        { dst: '0.0.0.0/0', gateway: '10.91.0.1', onlink: true },
        { dst: '::/0', gateway: 'fd00:92::1' },
        { dst: '172.30.0.0/16', gateway: '10.92.0.254' },
      ],
    });
    assert.equal(result.driver, driver);
    assert.equal(result.ifname, 'net1');
    const nic = podLinks(pod).find((l) => l.ifname === 'net1');
    assert.ok(nic, 'net1 missing in the pod');
    assert.equal(nic.address, spec.mac);
    assert.equal(nic.mtu, 1400);
    assert.equal(nic.ifalias, podAlias(spec.portId));
    const addrs = JSON.parse(pod.exec(['ip', '-j', 'addr', 'show', 'dev', 'net1']))[0].addr_info.map(
      (a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`,
    );
    assert.ok(addrs.includes(`${spec.ips[0]!.address}/24`), addrs.join(' '));
    assert.ok(addrs.includes(`${spec.ips[1]!.address}/64`), addrs.join(' '));
    assert.match(pod.exec(['ip', 'route', 'show', 'default']), /default via 10\.91\.0\.1 dev net1 onlink/);
    assert.match(pod.exec(['ip', 'route', 'show', '172.30.0.0/16']), /via 10\.92\.0\.254 dev net1/);
    assert.match(pod.exec(['ip', '-6', 'route', 'show', 'default']), /default via fd00:92::1 dev net1/);
    const port = await findPort(settings, spec.portId);
    assert.equal(port?.name, result.ovsPort);
    assert.equal(port?.externalIds['attached-mac'], spec.mac);
    assert.equal(port?.externalIds['iface-status'], 'active');
    assert.equal(port?.externalIds['nnet-ifname'], 'net1');
    await check(settings, spec);
  });
}

test('check fails with check-failed naming the MTU when the pod NIC was changed behind N-Net', async (t) => {
  const { pod, settings, spec } = await pluggedPod(t, 'internal');
  pod.exec(['ip', 'link', 'set', 'eth0', 'mtu', '1300']);
  await assert.rejects(
    check(settings, spec),
    (e: unknown) => e instanceof PlugError && e.reason === 'check-failed' && /MTU 1300/.test(e.message),
  );
  pod.exec(['ip', 'link', 'set', 'eth0', 'mtu', '1500']);
  pod.exec(['ip', 'addr', 'flush', 'dev', 'eth0']);
  await assert.rejects(
    check(settings, spec),
    (e: unknown) => e instanceof PlugError && e.reason === 'check-failed' && /lacks address/.test(e.message),
  );
});

for (const driver of ['internal', 'hybrid'] as const) {
  test(`${driver}: after unplug no OVS port, host link, qbr or pod NIC remains`, async (t) => {
    const pod = newPod(t);
    const settings = node.plugSettings({ driver });
    const spec = specFor(pod);
    await plug(settings, spec);
    assert.ok(await findPort(settings, spec.portId));
    await unplug(settings, spec);
    await assertNothingLeft(settings, spec, pod);
  });

  const steps = driver === 'internal' ? INTERNAL_STEPS : HYBRID_STEPS;
  test(`${driver}: a plug made to fail after each of its steps (${steps.join(', ')}) leaves nothing behind`, async (t) => {
    const settings = node.plugSettings({ driver });
    for (const step of steps) {
      const pod = newPod(t);
      const spec = specFor(pod);
      await assert.rejects(
        withFailureAfter(step, () => plug(settings, spec)),
        (e: unknown) => e instanceof PlugError && e.message.includes(`after step ${step}`),
      );
      await assertNothingLeft(settings, spec, pod);
    }
  });

  test(`${driver}: plugging twice is the same as plugging once`, async (t) => {
    const { pod, settings, spec, result } = await pluggedPod(t, driver);
    assert.equal(result.changed, true);
    const again = await plug(settings, spec);
    assert.equal(again.changed, false);
    assert.deepEqual(
      podLinks(pod).map((l) => l.ifname),
      ['lo', 'eth0'],
    );
    const mine = (await listPorts(settings)).filter((p) => p.ifaceId === spec.portId);
    assert.equal(mine.length, 1);
    const v4 = JSON.parse(pod.exec(['ip', '-j', '-4', 'addr', 'show', 'dev', 'eth0']))[0].addr_info;
    assert.equal(v4.length, 1);
    await check(settings, spec);
  });

  test(`${driver}: unplugging twice succeeds`, async (t) => {
    const pod = newPod(t);
    const settings = node.plugSettings({ driver });
    const spec = specFor(pod);
    await plug(settings, spec);
    await unplug(settings, spec);
    await unplug(settings, spec);
    await assertNothingLeft(settings, spec, pod);
  });

  test(`${driver}: unplug succeeds when the pod netns is already gone, and leaves nothing`, async (t) => {
    const pod = newPod(t);
    const settings = node.plugSettings({ driver });
    const spec = specFor(pod);
    await plug(settings, spec);
    pod.remove();
    await unplug(settings, spec);
    await assertNothingLeft(settings, spec);
  });
}

test('plugging into a netns that does not exist fails with netns-missing and creates no OVS port', async () => {
  const settings = node.plugSettings();
  const spec = parsePlugSpec({ ...specFor({ path: '/var/run/netns/nntp-none' } as TestNetns) });
  await assert.rejects(
    plug(settings, spec),
    (e: unknown) => e instanceof PlugError && e.reason === 'netns-missing' && e.message.includes('nntp-none'),
  );
  assert.equal(await findPort(settings, spec.portId), undefined);
});

test('plugging fails with ovs-unavailable when nothing answers on the OVSDB socket or the bridge is missing', async (t) => {
  const pod = newPod(t);
  const spec = specFor(pod);
  await assert.rejects(
    plug(node.plugSettings({ ovsdb: `unix:${node.dir}/nothing.sock` }), spec),
    (e: unknown) =>
      e instanceof PlugError && e.reason === 'ovs-unavailable' && e.message.includes('nothing.sock'),
  );
  await assert.rejects(
    plug(node.plugSettings({ bridge: 'br-nntp-none' }), spec),
    (e: unknown) =>
      e instanceof PlugError && e.reason === 'ovs-unavailable' && e.message.includes('br-nntp-none'),
  );
  assert.deepEqual(
    podLinks(pod).map((l) => l.ifname),
    ['lo'],
  );
});

test('plugging refuses an ifname taken by a foreign device, leaves it alone and leaves nothing of its own', async (t) => {
  const pod = newPod(t);
  pod.exec(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'nntpforeign']);
  for (const driver of ['internal', 'hybrid'] as const) {
    const settings = node.plugSettings({ driver });
    const spec = specFor(pod);
    await assert.rejects(
      plug(settings, spec),
      (e: unknown) => e instanceof PlugError && e.reason === 'link' && /eth0 already exists/.test(e.message),
    );
    assert.equal(await findPort(settings, spec.portId), undefined);
    assert.deepEqual(
      linkNames(node.netnsName).filter((n) => Object.values(deviceNames(spec.portId)).includes(n)),
      [],
    );
  }
  assert.deepEqual(
    podLinks(pod)
      .map((l) => l.ifname)
      .sort(),
    ['eth0', 'lo', 'nntpforeign'],
  );
});

test('listPorts traces every N-Net port back to its pod, and findPort finds one by iface-id', async (t) => {
  const a = await pluggedPod(t, 'internal');
  const b = await pluggedPod(t, 'hybrid');
  const ports = await listPorts(a.settings);
  for (const x of [a, b]) {
    const p = ports.find((q) => q.ifaceId === x.spec.portId);
    assert.ok(p, `port of ${x.pod.name} not listed`);
    assert.equal(p.name, x.result.ovsPort);
    assert.equal(p.driver, x.result.driver);
    assert.equal(p.externalIds['nnet-pod-namespace'], 'default');
    assert.equal(p.externalIds['nnet-pod-name'], x.pod.name);
    assert.equal(p.externalIds['nnet-container-id'], `ctr-${x.pod.name}`);
    assert.equal(p.externalIds['nnet-netns'], x.pod.path);
    assert.ok(typeof p.ofport === 'number' && p.ofport > 0, `ofport ${p.ofport}`);
  }
  assert.ok(!ports.some((p) => p.name === 'br-int'), 'br-int is not an N-Net port');
  assert.equal((await findPort(a.settings, b.spec.portId))?.name, b.result.ovsPort);
});

test('setSysctls changes net.* sysctls inside the pod netns only', async (t) => {
  const pod = newPod(t);
  const before = execInNetns('', ['sysctl', '-n', 'net.ipv4.conf.all.arp_notify']).stdout.trim();
  await setSysctls(pod.path, { 'net.ipv4.conf.all.arp_notify': before === '1' ? '0' : '1' });
  assert.equal(pod.exec(['sysctl', '-n', 'net.ipv4.conf.all.arp_notify']).trim(), before === '1' ? '0' : '1');
  assert.equal(execInNetns('', ['sysctl', '-n', 'net.ipv4.conf.all.arp_notify']).stdout.trim(), before);
  await assert.rejects(setSysctls(pod.path, { 'kernel.panic': '1' }), (e: unknown) => e instanceof PlugError);
});
