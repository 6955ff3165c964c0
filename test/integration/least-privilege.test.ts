/**
 * N-Net with least privilege: the cluster's identity is the env's `nnet-member`, a member of
 * project nnet-ci with only the nnet-node role (Neutron's policy lets that role set
 * binding:host_id, admin-only by default; docs/security.md). The fixture makes the network and
 * subnet as that user too: no admin anywhere. Pods get ports of the member's project, bound to
 * the node; a static-IP reservation, the node's own port, its node-access groups, CHECK and DEL
 * all work, and nothing is left.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { DEVICE_OWNER, reservePort } from '../../src/resources/index.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import type { HarnessResult } from '../support/cni.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

let c: TestCluster;
const netnses: TestNetns[] = [];
const calls: { id: string; netns: string; args: Record<string, string> }[] = [];

function ok(r: HarnessResult, what: string): Record<string, unknown> {
  assert.equal(r.code, 0, `${what}: ${r.stdout} ${r.stderr}`);
  return r.json ?? {};
}

async function addPod(pod: string): Promise<{ netns: TestNetns; ip: string; call: (typeof calls)[number] }> {
  const netns = createNetns('nntl');
  netnses.push(netns);
  const call = {
    id: `${pod}-id`,
    netns: netns.path,
    args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: pod },
  };
  const r = ok(await c.rt.callAsync('add', call), `ADD ${pod}`);
  calls.push(call);
  return { netns, call, ip: ((r.ips ?? []) as { address: string }[])[0]!.address.split('/')[0]! };
}

function pingsFrom(argv: string[], to: string, deadlineMs = 60_000): void {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      execFileSync(argv[0]!, [...argv.slice(1), 'ping', '-c', '2', '-i', '0.2', '-W', '2', to], {
        stdio: 'pipe',
      });
      return;
    } catch (e) {
      if (Date.now() > until) throw new Error(`ping ${to} from ${argv.join(' ')}: ${String(e)}`);
    }
  }
}

before(async () => {
  c = await startTestCluster({ prefix: 'nntl', backend: 'sqlite', identity: 'member' });
});
after(async () => {
  for (const call of [...calls].reverse()) c.rt.call('del', call);
  for (const n of netnses) n.remove();
  await c?.stop();
});

test('a member of the cluster’s project (plus the nnet-node role) runs pods: ADD, static IP, node → pod, CHECK, DEL', async () => {
  const project = (await c.neutron.networks.get(c.network.id)).projectId;
  assert.ok(project, 'the network has a project');

  const ref = { cluster: c.name, namespace: 'default', pod: 'pinned' };
  const fixedIps = [{ subnetId: c.subnet.id, ip: '1.2.0.77' }];
  const reserved = await reservePort(c.neutron, { pod: ref, networkId: c.network.id, fixedIps });
  await c.store.podConfigs.create({
    ...ref,
    nics: [{ ifname: 'eth0', networkId: c.network.id, fixedIps, reservedPortId: reserved.id }],
  });
  const pinned = await addPod('pinned');
  assert.equal(pinned.ip, '1.2.0.77');
  const other = await addPod('other');

  for (const call of [pinned.call, other.call]) {
    const row = (await c.store.attachments.get({ containerId: call.id, ifname: 'eth0' }))!;
    const port = await c.neutron.ports.get(row.portId);
    assert.equal(port.projectId, project, "the pod's port is in the member's project");
    assert.equal(port.hostId, c.node.name, 'bound to the node (the member sees binding:host_id)');
    assert.equal(port.deviceOwner, DEVICE_OWNER);
  }
  pingsFrom(['ip', 'netns', 'exec', pinned.netns.name], other.ip);
  // The node's own port and node-access groups, made by the member: the node reaches its pods.
  pingsFrom(['ip', 'netns', 'exec', c.node.netnsName], pinned.ip);
  const node = await c.store.nodes.get({ cluster: c.name, name: c.node.name });
  assert.equal(node?.ports.length, 1, 'the node has its port on the network');
  assert.equal((await c.neutron.ports.get(node!.ports[0]!.portId)).projectId, project);

  ok(await c.rt.callAsync('check', pinned.call), 'CHECK');
  for (const call of calls.splice(0).reverse()) ok(await c.rt.callAsync('del', call), 'DEL');
  const kept = await c.neutron.ports.get(reserved.id);
  assert.equal(kept.hostId, '', 'the reservation is unbound after DEL and kept');
  await c.neutron.ports.ensureDeleted(reserved.id);
  await c.store.podConfigs.delete(ref);
  const pods = await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER });
  assert.deepEqual(pods, [], 'no pod port left');
  assert.deepEqual(await c.store.attachments.list({}), []);
});
