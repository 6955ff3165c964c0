/**
 * The plugin obeys the store only as far as it can check it: a pod config row (anyone who can
 * write the shared store can write one) that points at a VM's port, at a network that is not the
 * cluster's, or that holds what is not a Neutron id, is refused with code 115 naming what was
 * refused, and the port it names is not touched.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

let c: TestCluster;
const netnses: TestNetns[] = [];
const undo: (() => unknown)[] = [];

async function addWithConfig(pod: string, nic: Record<string, unknown>) {
  const ref = { cluster: c.name, namespace: 'default', pod };
  await c.store.podConfigs.put({ ...ref, nics: [{ ifname: 'eth0', ...nic }] } as never);
  undo.push(() => c.store.podConfigs.delete(ref));
  const netns = createNetns('nntf');
  netnses.push(netns);
  const call = {
    id: `${pod}-id`,
    netns: netns.path,
    args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: pod },
  };
  const r = await c.rts[0]!.callAsync('add', call);
  return { r, netns, call };
}

describe('forged store rows', () => {
  before(async () => {
    c = await startTestCluster({ prefix: 'nntf', backend: 'sqlite' });
  });
  after(async () => {
    for (const f of undo.reverse())
      await Promise.resolve()
        .then(f)
        .catch(() => undefined);
    for (const n of netnses) n.remove();
    await c?.stop();
  });

  test("a row naming a VM's port as the pod's reservation: code 115, and the VM's port is not touched", async () => {
    const vm = await c.neutron.ports.create({
      networkId: c.network.id,
      name: 'nntf-vm-port',
      deviceOwner: 'compute:nova',
      deviceId: 'vm-1',
    });
    undo.push(() => c.neutron.ports.ensureDeleted(vm.id));
    const { r, netns } = await addWithConfig('hijack', {
      networkId: c.network.id,
      fixedIps: [{ subnetId: c.subnet.id }],
      reservedPortId: vm.id,
    });
    assert.equal(r.json?.code, 115, r.stdout);
    assert.match(String(r.json?.msg), new RegExp(`refusing to bind port ${vm.id}`));
    const after = await c.neutron.ports.get(vm.id);
    assert.equal(after.hostId, '');
    assert.equal(after.deviceOwner, 'compute:nova');
    assert.equal(after.deviceId, 'vm-1');
    assert.equal(after.revisionNumber, vm.revisionNumber, 'not a single update');
    assert.doesNotMatch(netns.exec(['ip', '-o', 'link']), /eth0/);
  });

  test('a row naming a network that is not the cluster’s: code 115, and no port is made there', async () => {
    const other = await c.neutron.networks.create({ name: `${c.name}-foreign` });
    undo.push(() => c.neutron.networks.ensureDeleted(other.id));
    const sub = await c.neutron.subnets.create({ networkId: other.id, cidr: '10.66.0.0/24' });
    undo.push(() => c.neutron.subnets.ensureDeleted(sub.id));
    const { r } = await addWithConfig('elsewhere', {
      networkId: other.id,
      fixedIps: [{ subnetId: sub.id, ip: '10.66.0.7' }],
    });
    assert.equal(r.json?.code, 115, r.stdout);
    assert.match(String(r.json?.msg), new RegExp(`network ${other.id}, which is not one of cluster`));
    assert.deepEqual(await c.neutron.ports.list({ networkId: other.id }), []);
  });

  test('a row whose ids are not Neutron ids: code 115 naming the value', async () => {
    const { r } = await addWithConfig('garbage', { networkId: '../../ports', fixedIps: [] });
    assert.equal(r.json?.code, 115, r.stdout);
    assert.match(String(r.json?.msg), /names "\.\.\/\.\.\/ports", which is not a Neutron id/);
  });
});
