import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePlugSpec } from '../plug/index.ts';
import { plugSpecOf } from './nic.ts';

test('the plug spec of a recorded NIC restores exactly its MAC, MTU, addresses, routes and owner', () => {
  const nic = {
    portId: '11111111-1111-4111-8111-111111111111',
    mac: 'fa:16:3e:00:00:05',
    mtu: 1442,
    ips: [
      { address: '1.2.0.5', prefixLength: 16, gateway: '1.2.0.1' },
      { address: 'fd00::5', prefixLength: 64, gateway: 'fd00::1' },
    ],
    routes: [
      { dst: '0.0.0.0/0', gateway: '1.2.0.1' },
      { dst: '::/0', gateway: 'fd00::1' },
      { dst: '10.96.0.0/12', gateway: '1.2.255.2' },
    ],
    netns: '/var/run/netns/p1',
    ifname: 'eth0',
    namespace: 'team-a',
    pod: 'web-0',
    containerId: 'c1',
  };
  const spec = parsePlugSpec(plugSpecOf(nic));
  assert.equal(spec.mac, nic.mac);
  assert.equal(spec.mtu, 1442);
  assert.deepEqual(spec.ips, [
    { address: '1.2.0.5', prefixLength: 16 },
    { address: 'fd00::5', prefixLength: 64 },
  ]);
  assert.deepEqual(spec.routes, nic.routes);
  assert.equal(spec.netns, nic.netns);
  assert.equal(spec.ifname, 'eth0');
  assert.equal(spec.podNamespace, 'team-a');
  assert.equal(spec.podName, 'web-0');
  assert.equal(spec.containerId, 'c1');
});
