import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Subnet } from '../neutron/index.ts';
import { ipProblem, subnetContaining, subnetMatches } from './lookup.ts';

function subnet(cidr: string, name: string, gatewayIp: string | null): Subnet {
  return {
    id: `id-${name}`,
    name,
    networkId: 'net',
    ipVersion: cidr.includes(':') ? 6 : 4,
    cidr,
    gatewayIp,
    allocationPools: [],
    dnsNameservers: [],
    enableDhcp: true,
    hostRoutes: [],
    subnetpoolId: undefined,
    projectId: undefined,
    description: undefined,
    tags: [],
    createdAt: undefined,
    updatedAt: undefined,
    revisionNumber: undefined,
  };
}

const A = subnet('1.2.0.0/16', 'pods-a', '1.2.0.1');
const B = subnet('192.168.10.0/24', 'pods-b', null);
const V6 = subnet('fd00::/64', 'v6', 'fd00::1');

test('a subnet is named by its id, its name or its CIDR in any spelling', () => {
  assert.ok(subnetMatches(A, 'id-pods-a'));
  assert.ok(subnetMatches(A, 'pods-a'));
  assert.ok(subnetMatches(A, '1.2.0.0/16'));
  assert.ok(subnetMatches(V6, 'fd00:0::/64'));
  assert.ok(!subnetMatches(A, '1.2.0.0/24'));
  assert.ok(!subnetMatches(A, 'pods'));
});

test('a pod IP must be a host address of the subnet and not its gateway', () => {
  assert.equal(ipProblem('1.2.0.100', A), undefined);
  assert.equal(ipProblem('1.2.0.1', A), 'IP 1.2.0.1 is the gateway of subnet pods-a (1.2.0.0/16)');
  assert.equal(ipProblem('1.2.0.0', A), 'IP 1.2.0.0 is the network address of subnet pods-a (1.2.0.0/16)');
  assert.equal(
    ipProblem('1.2.255.255', A),
    'IP 1.2.255.255 is the broadcast address of subnet pods-a (1.2.0.0/16)',
  );
  assert.equal(ipProblem('1.3.0.1', A), 'IP 1.3.0.1 is not inside subnet pods-a (1.2.0.0/16)');
  assert.equal(ipProblem('192.168.10.1', B), undefined, 'no gateway: the first address is usable');
  assert.match(ipProblem('fd00::5', A)!, /is IPv6 but/);
});

test('the subnet containing an IP', () => {
  assert.equal(subnetContaining([A, B, V6], '192.168.10.7'), B);
  assert.equal(subnetContaining([A, B, V6], 'fd00::7'), V6);
  assert.equal(subnetContaining([A, B], '10.0.0.1'), undefined);
});
