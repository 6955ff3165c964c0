import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Port } from '../../neutron/index.ts';
import { orphanedReservations } from './gc.ts';

const NOW = Date.parse('2025-01-01T01:00:00Z');
const port = (id: string, over: Partial<Port> = {}): Port =>
  ({
    id,
    name: `nnet-team-a-${id}`,
    hostId: '',
    deviceId: '',
    deviceOwner: 'compute:nnet',
    description: 'nnet-reserved nnet-cluster=c',
    tags: ['nnet', 'nnet-cluster=c', 'nnet-ns=team-a', `nnet-pod=${id}`, 'nnet-reserved'],
    createdAt: '2025-01-01T00:00:00Z',
    ...over,
  }) as Port;

const nic = (reservedPortId?: string) => ({
  ifname: 'eth0',
  networkId: 'net',
  fixedIps: [],
  ...(reservedPortId ? { reservedPortId } : {}),
});

test('gc takes reserved ports no config refers to, unbound and older than a minute; nothing else', () => {
  const ports = [
    port('orphan'),
    port('referenced'),
    port('second-nic'),
    port('bound', { hostId: 'node1' }),
    port('young', { createdAt: '2025-01-01T00:59:30Z' }),
    port('not-reserved', { tags: ['nnet', 'nnet-cluster=c'] }),
    port('no-date', { createdAt: undefined }),
  ];
  assert.deepEqual(
    orphanedReservations(
      ports,
      [{ nics: [nic('referenced'), nic('second-nic')] }, { nics: [nic()] }],
      'c',
      NOW,
    ).map((p) => p.id),
    ['orphan'],
    "every NIC's reservation counts, not only the first's",
  );
  assert.deepEqual(
    orphanedReservations(ports, [], 'c', NOW, 10_000).map((p) => p.id),
    ['orphan', 'referenced', 'second-nic', 'young'],
  );
});

test("gc takes a reservation whose tags were never set by its description, and no one else's untagged port", () => {
  const untagged = (id: string, over: Partial<Port> = {}) => port(id, { tags: [], ...over });
  const ports = [
    untagged('killed-before-tagging'),
    untagged('young', { createdAt: '2025-01-01T00:59:30Z' }),
    untagged('bound', { hostId: 'node1', deviceId: 'c1' }),
    untagged('held', { deviceId: 'c1' }),
    untagged('referenced'),
    untagged('other-cluster', { description: 'nnet-reserved nnet-cluster=d' }),
    untagged('not-nnet', { deviceOwner: 'compute:nova' }),
    untagged('no-description', { description: '' }),
    port('tagged-other-cluster', { tags: ['nnet', 'nnet-cluster=d', 'nnet-reserved'] }),
  ];
  assert.deepEqual(
    orphanedReservations(ports, [{ nics: [nic('referenced')] }], 'c', NOW).map((p) => p.id),
    ['killed-before-tagging'],
  );
});
