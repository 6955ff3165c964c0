import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NeutronError } from '../errors/index.ts';
import type { NeutronClient, SubPort, Trunk } from '../neutron/index.ts';
import { containerOfPort, containerTag, isStrayNestedPort, podTags, RESERVED_TAG } from './ports.ts';
import { nodeTag } from './tags.ts';
import {
  addSubports,
  freeVlan,
  freeVlans,
  parentProblem,
  trunkProblem,
  VLAN_MAX,
  VLAN_MIN,
} from './trunk.ts';

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

test('freeVlans picks distinct free VLAN IDs upwards from the start, wrapping, and fewer when fewer are left', () => {
  assert.deepEqual(freeVlans(withVlans([101, 103]), 100, 4), [100, 102, 104, 105]);
  assert.deepEqual(freeVlans(withVlans([4094]), 4093, 3), [4093, 1, 2], 'wraps past 4094');
  const all = Array.from({ length: VLAN_MAX }, (_, i) => i + 1);
  assert.deepEqual(freeVlans(withVlans(all.filter((v) => v !== 9 && v !== 4000)), 1, 5), [9, 4000]);
  assert.deepEqual(freeVlans(withVlans([]), 7, 0), []);
});

/** A trunk whose add_subports behaves as Neutron's: all or nothing, DuplicateSubPort on a VLAN in use. */
function trunkApi(t: Trunk, beforeAdd: (t: Trunk) => void = () => undefined) {
  const calls: SubPort[][] = [];
  const api = {
    trunks: {
      get: async () => structuredClone(t),
      addSubports: async (_id: string, subs: SubPort[]) => {
        beforeAdd(t);
        calls.push(subs);
        const used = new Set(t.subPorts.map((s) => s.segmentationId));
        if (subs.some((s) => used.has(s.segmentationId)))
          throw new NeutronError('conflict', 'segmentation id in use', {
            status: 409,
            neutronType: 'DuplicateSubPort',
          });
        t.subPorts.push(...subs);
        return structuredClone(t);
      },
    },
  };
  return { neutron: api as unknown as NeutronClient, calls };
}

test('addSubports puts a batch on the trunk in one request with distinct VLANs, and picks again when a concurrent ADD took one', async () => {
  const t = withVlans([10]);
  let raced = false;
  // Another ADD takes VLAN 12 between this read of the trunk and the request.
  const { neutron, calls } = trunkApi(t, (cur) => {
    if (raced) return;
    raced = true;
    cur.subPorts.push({ portId: 'other', segmentationType: 'vlan', segmentationId: 12 });
  });
  const start = (11 - VLAN_MIN) / (VLAN_MAX - VLAN_MIN + 1);
  const vlans = await addSubports(neutron, structuredClone(t), ['a', 'b', 'c'], () => start);
  assert.equal(calls.length, 2, 'one lost request, then one that Neutron applied');
  assert.deepEqual(
    calls[0]!.map((s) => s.segmentationId),
    [11, 12, 13],
  );
  assert.deepEqual([...vlans.values()], [11, 13, 14]);
  assert.deepEqual(
    t.subPorts.map((s) => s.segmentationId),
    [10, 12, 11, 13, 14],
    'each port once, no VLAN twice',
  );
  // A repeated call (a refill retried) keeps the VLANs the ports have and sends nothing.
  const again = await addSubports(neutron, structuredClone(t), ['a', 'b', 'c']);
  assert.deepEqual([...again.values()], [11, 13, 14]);
  assert.equal(calls.length, 2);
});

test('addSubports with fewer VLANs left than ports fails over-quota naming the trunk, and sends nothing', async () => {
  const all = Array.from({ length: VLAN_MAX - 1 }, (_, i) => i + 1);
  const { neutron, calls } = trunkApi(withVlans(all));
  await assert.rejects(addSubports(neutron, withVlans(all), ['a', 'b']), (e: unknown) => {
    assert.ok(e instanceof NeutronError && e.reason === 'over-quota');
    assert.match(e.message, /trunk t1 of port p1 .* every VLAN ID \(1-4094\) is taken/);
    return true;
  });
  assert.equal(calls.length, 0);
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
