/**
 * After ovs-vswitchd restarts, an internal port's tap is recreated in the vswitchd netns and the
 * pod's NIC goes dead: replug() restores it, and the Interface monitor reports the new device.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type InterfaceEvent,
  type PlugSpec,
  parsePlugSpec,
  plug,
  replug,
  unplug,
  watchInterfaces,
} from '../../src/plug/index.ts';
import { createNetns, onCleanup, type TestNetns } from '../support/netns.ts';
import { type OvsNode, startOvsNode } from '../support/ovs-node.ts';

let node: OvsNode;
before(async () => {
  node = await startOvsNode({ name: `nntp-rp${randomBytes(2).toString('hex')}` });
});
after(async () => {
  await node?.stop();
});

function pingOk(from: TestNetns, to: string, count = 2): boolean {
  return (
    from.run(['ping', '-c', String(count), '-i', '0.2', '-W', '1', to], { timeoutMs: 15_000 }).code === 0
  );
}

function spec(pod: TestNetns, host: number): PlugSpec {
  return parsePlugSpec({
    portId: randomUUID(),
    mac: `0a:58:0a:5d:00:${host.toString(16).padStart(2, '0')}`,
    ips: [{ address: `10.93.0.${host}`, prefixLength: 24 }],
    routes: [{ dst: '0.0.0.0/0', gateway: '10.93.0.1' }],
    mtu: 1500,
    netns: pod.path,
    ifname: 'eth0',
  });
}

test('after an ovs-vswitchd restart internal pods are dead until replug, which restores them; the monitor sees the new tap', async (t) => {
  const settings = node.plugSettings({ driver: 'internal' });
  const pods = [createNetns('nntp'), createNetns('nntp')];
  const specs = pods.map((p, i) => spec(p, 10 + i));
  onCleanup(t, async () => {
    for (const s of specs) await unplug(settings, s);
    for (const p of pods) p.remove();
  });
  for (const s of specs) await plug(settings, s);
  assert.ok(pingOk(pods[0]!, specs[1]!.ips[0]!.address), 'no traffic before the restart');
  assert.equal(await replug(settings, specs[0]!), 'unchanged', 'replug of a healthy pod changed something');

  const events: InterfaceEvent[] = [];
  const watch = await watchInterfaces(settings, (e) => events.push(e));
  onCleanup(t, () => watch.close());
  const before = events.filter((e) => e.kind === 'initial' && e.port.ifaceId === specs[0]!.portId);
  assert.equal(before.length, 1, 'the monitor did not list the port initially');
  const oldIfindex = before[0]!.port.ifindex;

  await node.restartVswitchd();
  // vswitchd recreates the taps in its own netns; wait until they are there.
  for (let i = 0; i < 100 && !node.exec(['ip', 'link', 'show', settings.bridge]).stdout; i++) await sleep(50);
  await sleep(500);
  assert.equal(pingOk(pods[0]!, specs[1]!.ips[0]!.address, 3), false, 'traffic flowed without replug');

  for (const s of specs) assert.equal(await replug(settings, s), 'replugged');
  assert.ok(pingOk(pods[0]!, specs[1]!.ips[0]!.address), 'no traffic after replug');
  assert.ok(pingOk(pods[1]!, specs[0]!.ips[0]!.address), 'no traffic after replug');
  assert.deepEqual(
    pods[0]!
      .exec(['ip', '-br', 'link'])
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(/\s+/)[0]),
    ['lo', 'eth0'],
  );

  const changed = events.find(
    (e) => e.kind === 'modify' && e.port.ifaceId === specs[0]!.portId && e.port.ifindex !== oldIfindex,
  );
  assert.ok(
    changed,
    `no modify event with a new ifindex: ${JSON.stringify(events.map((e) => [e.kind, e.port.name, e.port.ifindex]))}`,
  );
});

test('after an ovs-vswitchd restart hybrid pods recover by themselves and replug leaves them unchanged', async (t) => {
  const settings = node.plugSettings({ driver: 'hybrid' });
  const pods = [createNetns('nntp'), createNetns('nntp')];
  const specs = pods.map((p, i) => spec(p, 20 + i));
  onCleanup(t, async () => {
    for (const s of specs) await unplug(settings, s);
    for (const p of pods) p.remove();
  });
  for (const s of specs) await plug(settings, s);
  await node.restartVswitchd();
  let ok = false;
  for (let i = 0; i < 20 && !ok; i++) ok = pingOk(pods[0]!, specs[1]!.ips[0]!.address, 1);
  assert.ok(ok, 'hybrid pods did not recover');
  for (const s of specs) assert.equal(await replug(settings, s), 'unchanged');
});
