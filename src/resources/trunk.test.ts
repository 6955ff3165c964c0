import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Trunk } from '../neutron/index.ts';
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
