import assert from 'node:assert/strict';
import { test } from 'node:test';
import { policyRoutes, SOURCE_TABLE_BASE } from './policy-routes.ts';

const a = (device: string, address: string, prefixLength: number) => ({
  device,
  family: (address.includes(':') ? 6 : 4) as 4 | 6,
  address,
  prefixLength,
});

test("a node address that shares a node port's subnet: its traffic by its own device, the rest by the node port", () => {
  const routes = policyRoutes([
    a('lo', '127.0.0.1', 8),
    a('eth0', '10.0.0.5', 24), // the node's underlay: no node port on it
    a('eth1', '1.2.1.180', 16), // a VM's second NIC on the pod network
    a('eth1', 'fe80::1', 64),
    a('nnh0aab23c4d064', '1.2.1.173', 16),
    a('nnh0aab23c4d064', 'fe80::2', 64),
    a('eth2', 'fd00::9', 64),
    a('nnh2cfbe0aa57fe', 'fd00::7', 64),
  ]);
  const T = SOURCE_TABLE_BASE;
  assert.deepEqual(routes, [
    // Traffic from the NIC's own address leaves by the NIC …
    { family: 4, rule: { from: '1.2.1.180' }, device: 'eth1', src: '1.2.1.180', dst: '1.2.0.0/16', table: T },
    { family: 6, rule: { from: 'fd00::9' }, device: 'eth2', src: 'fd00::9', dst: 'fd00::/64', table: T + 1 },
    // … everything else to the shared subnet by the node port, whichever route the kernel lists first.
    {
      family: 4,
      rule: { to: '1.2.0.0/16' },
      device: 'nnh0aab23c4d064',
      src: '1.2.1.173',
      dst: '1.2.0.0/16',
      table: T + 2,
    },
    {
      family: 6,
      rule: { to: 'fd00::/64' },
      device: 'nnh2cfbe0aa57fe',
      src: 'fd00::7',
      dst: 'fd00::/64',
      table: T + 3,
    },
  ]);
});

test('no node port, or none on a shared subnet, or another family: no rule', () => {
  assert.deepEqual(policyRoutes([a('eth1', '1.2.1.180', 16)]), []);
  assert.deepEqual(policyRoutes([a('eth1', '1.2.1.180', 16), a('nnh0aab23c4d064', '1.3.0.9', 16)]), []);
  assert.deepEqual(policyRoutes([a('eth1', 'fd00::9', 64), a('nnh0aab23c4d064', '1.2.1.173', 16)]), []);
  // A wider subnet of the node's that holds the pod network counts too.
  assert.equal(policyRoutes([a('eth1', '1.2.3.4', 8), a('nnh0aab23c4d064', '1.2.1.173', 16)]).length, 2);
});
