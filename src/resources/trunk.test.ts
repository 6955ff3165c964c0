import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Trunk } from '../neutron/index.ts';
import { containerOfPort, containerTag, isStrayNestedPort, podTags, RESERVED_TAG } from './ports.ts';
import { nodeTag } from './tags.ts';
import { freeVlan, parentProblem, trunkProblem, VLAN_MAX, VLAN_MIN } from './trunk.ts';

const trunk = (over: Partial<Trunk> = {}): Trunk => ({
  id: 't1',
  name: 'vm1-trunk',
  portId: 'p1',
  status: 'ACTIVE',
  adminStateUp: true,
  subPorts: [],
  projectId: 'proj-a',
  tags: [],
  ...over,
});
const withVlans = (ids: number[]) =>
  trunk({ subPorts: ids.map((id) => ({ portId: `p${id}`, segmentationType: 'vlan', segmentationId: id })) });

test('freeVlan takes the first free VLAN ID from the start upwards, wraps past 4094, and is undefined when all are used', () => {
  assert.equal(freeVlan(withVlans([]), 100), 100);
  assert.equal(freeVlan(withVlans([100, 101]), 100), 102);
  assert.equal(freeVlan(withVlans([4093, 4094]), 4093), 1, 'wraps to 1');
  assert.equal(freeVlan(withVlans([]), 0), VLAN_MAX, 'a start below the range wraps into it');
  assert.equal(freeVlan(withVlans([]), 9000), ((9000 - VLAN_MIN) % VLAN_MAX) + VLAN_MIN);
  const all = Array.from({ length: VLAN_MAX }, (_, i) => i + 1);
  assert.equal(freeVlan(withVlans(all), 7), undefined);
  assert.equal(freeVlan(withVlans(all.filter((v) => v !== 3000)), 7), 3000, 'the one left is found');
});

test('trunkProblem refuses a trunk of another project and one Neutron marks DEGRADED or ERROR, naming the trunk and its port', () => {
  assert.equal(trunkProblem(trunk(), 'proj-a'), undefined);
  assert.equal(trunkProblem(trunk({ status: 'DOWN' }), 'proj-a'), undefined, 'DOWN: no subport yet, usable');
  const other = trunkProblem(trunk(), 'proj-b');
  assert.match(
    other ?? '',
    /^refusing trunk t1 of port p1: it belongs to project proj-a, not to the cluster's project proj-b/,
  );
  for (const status of ['DEGRADED', 'ERROR']) {
    const p = trunkProblem(trunk({ status }), 'proj-a');
    assert.match(p ?? '', new RegExp(`trunk t1 of port p1 is ${status}`));
    assert.match(p ?? '', /openstack network trunk show t1/);
  }
});

test("parentProblem refuses the node's port of another project as its trunk parent", () => {
  assert.equal(parentProblem({ id: 'p1', projectId: 'proj-a' }, 'proj-a'), undefined);
  assert.equal(parentProblem({ id: 'p1', projectId: undefined }, 'proj-a'), undefined);
  assert.match(
    parentProblem({ id: 'p1', projectId: 'proj-b' }, 'proj-a') ?? '',
    /^refusing the node's port p1 as its trunk parent: it belongs to project proj-b, not to the cluster's project proj-a$/,
  );
});

test('a port a nested ADD made and never put on the trunk is stray; a subport, a held, bound, reserved or untagged port is not', () => {
  const made = createdTags('c0ffee');
  const stray = { id: 'p9', tags: made, deviceId: '', deviceOwner: '', hostId: '' };
  assert.equal(containerOfPort(stray), 'c0ffee');
  assert.equal(isStrayNestedPort(stray, new Set()), true);
  assert.equal(
    isStrayNestedPort(stray, new Set(['p9'])),
    false,
    'on the trunk: a subport (the sweep’s other half)',
  );
  assert.equal(
    isStrayNestedPort({ ...stray, deviceId: 'c0ffee' }, new Set()),
    false,
    'held by its container',
  );
  assert.equal(isStrayNestedPort({ ...stray, deviceOwner: 'trunk:subport' }, new Set()), false);
  assert.equal(isStrayNestedPort({ ...stray, hostId: 'node1' }, new Set()), false, 'bound to a node');
  assert.equal(
    isStrayNestedPort({ ...stray, tags: [...made, RESERVED_TAG] }, new Set()),
    false,
    'a reservation',
  );
  const plain = { ...stray, tags: podTags({ cluster: 'k', namespace: 'default', pod: 'web' }) };
  assert.equal(containerOfPort(plain), undefined);
  assert.equal(isStrayNestedPort(plain, new Set()), false, 'no container tag: not a nested ADD’s');
});

/** The tags createPodPort gives a port in nested mode. */
function createdTags(containerId: string): string[] {
  return podTags({ cluster: 'k', namespace: 'default', pod: 'web' }, [
    containerTag(containerId),
    nodeTag('vm1'),
  ]);
}
