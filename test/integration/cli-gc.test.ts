/**
 * `kubenetctl gc --cni-config` runs the node sweep that CNI GC and nnet-agent run: a pod whose
 * netns vanished without a DEL loses its attachment, OVS port and Neutron port.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { listPorts } from '../../src/plug/index.ts';
import { DEVICE_OWNER } from '../../src/resources/index.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { clusterKubenetctl } from '../support/kubenetctl.ts';
import { createNetns } from '../support/netns.ts';

let c: TestCluster;
before(async () => {
  c = await startTestCluster({ prefix: 'nntg', backend: 'sqlite' });
});
after(() => c?.stop());

test('kubenetctl gc --cni-config releases the attachment, OVS port and Neutron port of a pod whose netns is gone', async () => {
  const pod = createNetns('nntg');
  const call = {
    id: randomBytes(16).toString('hex'),
    netns: pod.path,
    args: { K8S_POD_NAMESPACE: 'gc', K8S_POD_NAME: 'gone' },
  };
  try {
    const add = c.rt.call('add', call);
    assert.equal(add.code, 0, add.stdout);
  } finally {
    pod.remove(); // the runtime lost the pod without calling DEL
  }
  assert.equal((await c.store.attachments.list({ node: c.name })).length, 1);

  const r = clusterKubenetctl(c, ['gc', '--cni-config', join(c.rt.confDir, '10-nnet.conflist')], 'admin');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`node ${c.name}: released attachment gc/gone`));
  assert.deepEqual(await c.store.attachments.list({ node: c.name }), []);
  assert.deepEqual(await listPorts(c.node.plugSettings()), []);
  assert.deepEqual(await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER }), []);
});
