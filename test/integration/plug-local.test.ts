/**
 * Production layout: ovs-vswitchd runs in the plugin's own netns (vswitchdNetns unset). The plug
 * runs in a child process started inside the node netns, so "the current netns" is the node's.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { deviceNames, type PlugSpecInput } from '../../src/plug/index.ts';
import { PROJECT_ROOT } from '../support/env.ts';
import { createNetns, onCleanup, type TestNetns } from '../support/netns.ts';
import { type OvsNode, startOvsNode } from '../support/ovs-node.ts';

let node: OvsNode;
before(async () => {
  node = await startOvsNode({ name: `nntp-lo${randomBytes(2).toString('hex')}` });
});
after(async () => {
  await node?.stop();
});

const CHILD = `
import * as d from '${PROJECT_ROOT}/src/plug/index.ts';
import { withFailureAfter } from '${PROJECT_ROOT}/test/support/faults.ts';
const { ops, ovsdb } = JSON.parse(process.argv[1]);
const out = [];
for (const op of ops) {
  const settings = d.parsePlugSettings({ ovsdb, datapathType: 'netdev', driver: op.driver });
  try {
    const plug = () => d.plug(settings, d.parsePlugSpec(op.spec));
    if (op.verb === 'plug') await (op.failAfter ? withFailureAfter(op.failAfter, plug) : plug());
    else await d.unplug(settings, d.parseUnplugSpec({ portId: op.spec.portId, netns: op.spec.netns }));
    out.push('ok');
  } catch (e) {
    out.push(String(e.message));
  }
}
console.log(JSON.stringify(out));
`;

/** Runs plug/unplug operations in a Node process inside the node netns (vswitchdNetns unset). */
function inNode(
  ops: { verb: 'plug' | 'unplug'; driver: 'internal' | 'hybrid'; spec: PlugSpecInput; failAfter?: string }[],
  ovsdb = `unix:${node.ovsdbSocket}`,
): string[] {
  const r = spawnSync(
    'ip',
    [
      'netns',
      'exec',
      node.netnsName,
      process.execPath,
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      CHILD,
      JSON.stringify({ ops, ovsdb }),
    ],
    { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

let host = 10;
function spec(pod: TestNetns): PlugSpecInput {
  const h = host++;
  return {
    portId: randomUUID(),
    mac: `0a:58:0a:5e:00:${h.toString(16).padStart(2, '0')}`,
    ips: [{ address: `10.95.0.${h}`, prefixLength: 24 }],
    routes: [{ dst: '0.0.0.0/0', gateway: '10.95.0.1' }],
    mtu: 1500,
    netns: pod.path,
    ifname: 'eth0',
  };
}

function hostLinks(): string[] {
  return (JSON.parse(node.exec(['ip', '-j', 'link', 'show']).stdout) as { ifname: string }[]).map(
    (l) => l.ifname,
  );
}

test('with ovs-vswitchd in the plugin’s own netns, internal and hybrid pods talk, a failed plug and unplug leave nothing', async (t) => {
  const pods = [createNetns('nntp'), createNetns('nntp'), createNetns('nntp')];
  for (const p of pods) onCleanup(t, () => p.remove());
  const [a, b, c] = pods.map(spec) as [PlugSpecInput, PlugSpecInput, PlugSpecInput];
  onCleanup(t, () =>
    inNode([
      { verb: 'unplug', driver: 'internal', spec: a },
      { verb: 'unplug', driver: 'hybrid', spec: b },
    ]),
  );
  const res = inNode([
    { verb: 'plug', driver: 'internal', spec: a },
    { verb: 'plug', driver: 'hybrid', spec: b },
    { verb: 'plug', driver: 'internal', spec: c, failAfter: 'configure' },
  ]);
  assert.deepEqual(res.slice(0, 2), ['ok', 'ok']);
  assert.match(res[2]!, /after step configure/);
  // The failed plug moved its tap back into the (current) vswitchd netns and deleted its port.
  const cNames = Object.values(deviceNames(c.portId));
  assert.deepEqual(
    hostLinks().filter((n) => cNames.includes(n)),
    [],
  );
  assert.deepEqual(pods[2]!.exec(['ip', '-br', 'link']).trim().split(/\s+/)[0], 'lo');

  const r = pods[0]!.run(['ping', '-c', '3', '-i', '0.2', '-W', '2', b.ips[0]!.address], {
    timeoutMs: 15_000,
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);

  assert.deepEqual(
    inNode([
      { verb: 'unplug', driver: 'internal', spec: a },
      { verb: 'unplug', driver: 'hybrid', spec: b },
    ]),
    ['ok', 'ok'],
  );
  const names = [...Object.values(deviceNames(a.portId)), ...Object.values(deviceNames(b.portId))];
  assert.deepEqual(
    hostLinks().filter((n) => names.includes(n)),
    [],
  );
  assert.deepEqual(node.vsctl('list-ports', 'br-int').trim(), '');
});

test('ovsdbSocket tcp:127.0.0.1:PORT: the plug speaks OVSDB over TCP (ovsdb-server listening in the node netns) and a pod gets its NIC', async (t) => {
  // The node's ovsdb-server runs in the node netns: its loopback is the node's own, not the host's.
  const ctl = join(node.dir, 'ovsdb-server.ctl');
  const added = node.exec(['ovs-appctl', '-t', ctl, 'ovsdb-server/add-remote', 'ptcp:6640:127.0.0.1']);
  assert.equal(added.code, 0, added.stderr);
  onCleanup(t, () =>
    node.exec(['ovs-appctl', '-t', ctl, 'ovsdb-server/remove-remote', 'ptcp:6640:127.0.0.1']),
  );
  const pod = createNetns('nntp');
  onCleanup(t, () => pod.remove());
  const a = spec(pod);
  onCleanup(t, () => inNode([{ verb: 'unplug', driver: 'internal', spec: a }]));
  const tcp = 'tcp:127.0.0.1:6640';
  assert.deepEqual(inNode([{ verb: 'plug', driver: 'internal', spec: a }], tcp), ['ok']);
  const link = JSON.parse(pod.exec(['ip', '-j', 'addr', 'show', 'dev', 'eth0']))[0] as {
    address: string;
    addr_info: { local: string }[];
  };
  assert.equal(link.address, a.mac);
  assert.deepEqual(
    link.addr_info.map((i) => i.local).filter((l) => !l.startsWith('fe80')),
    [a.ips[0]!.address],
  );
  assert.equal(node.vsctl('list-ports', 'br-int').trim(), deviceNames(a.portId).internal);
  assert.deepEqual(inNode([{ verb: 'unplug', driver: 'internal', spec: a }], tcp), ['ok']);
  assert.equal(node.vsctl('list-ports', 'br-int').trim(), '');
});
