import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InputError } from '../errors/index.ts';
import { deviceNames, parsePlugSpec, parseUnplugSpec } from './spec.ts';

const good = {
  portId: '3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b',
  mac: 'FA:16:3E:00:00:01',
  ips: [{ address: '10.0.0.5', prefixLength: 24 }],
  routes: [{ dst: '0.0.0.0/0', gateway: '10.0.0.1' }],
  mtu: 1450,
  netns: '/var/run/netns/pod1',
  ifname: 'eth0',
};

test('a valid plug spec is accepted, the MAC lower-cased and optional fields defaulted', () => {
  const s = parsePlugSpec(good);
  assert.equal(s.mac, 'fa:16:3e:00:00:01');
  assert.deepEqual(s.routes, [{ dst: '0.0.0.0/0', gateway: '10.0.0.1' }]);
  assert.equal(s.podName, '');
});

for (const [what, patch, field] of [
  ['a port id that is not a UUID', { portId: 'abc' }, 'portId'],
  ['a malformed MAC', { mac: 'fa:16:3e:00:01' }, 'mac'],
  ['a multicast MAC', { mac: '01:00:5e:00:00:01' }, 'mac'],
  ['an IPv4 prefix longer than 32', { ips: [{ address: '10.0.0.5', prefixLength: 33 }] }, 'ips'],
  ['no IP at all', { ips: [] }, 'ips'],
  ['an ifname longer than 15 bytes', { ifname: 'a-very-long-ifname' }, 'ifname'],
  ['an ifname with a slash', { ifname: 'eth/0' }, 'ifname'],
  ['an MTU below 68', { mtu: 60 }, 'mtu'],
  ['a relative netns path', { netns: 'pod1' }, 'netns'],
  ['a route with a bad CIDR', { routes: [{ dst: '10.0.0.0/40' }] }, 'routes'],
  [
    'a route whose gateway is of the other family',
    { routes: [{ dst: '::/0', gateway: '10.0.0.1' }] },
    'routes',
  ],
  ['no routes list at all', { routes: undefined }, 'routes'],
] as const) {
  test(`a plug spec with ${what} is rejected as invalid-config naming ${field}`, () => {
    assert.throws(
      () => parsePlugSpec({ ...good, ...patch }),
      (e: unknown) => e instanceof InputError && e.reason === 'invalid-config' && e.message.includes(field),
    );
  });
}

test('an unplug spec needs only the port id', () => {
  assert.deepEqual(parseUnplugSpec({ portId: good.portId }), { portId: good.portId });
});

test('device names are ≤ 15 bytes, start with nn and never collide between drivers', () => {
  fc.assert(
    fc.property(fc.uuid(), (id) => {
      const n = deviceNames(id);
      const all = Object.values(n);
      assert.equal(new Set(all).size, all.length);
      for (const name of all) {
        assert.ok(name.length <= 15, name);
        assert.ok(name.startsWith('nn'), name);
      }
      // internal: nn + hex; hybrid names have a non-hex third letter
      assert.match(n.internal, /^nn[0-9a-f]{12}$/);
      for (const h of [n.qbr, n.tap, n.pod, n.qvb, n.qvo, n.host])
        assert.match(h, /^nn[qtpboh][0-9a-f]{12}$/);
    }),
  );
  assert.equal(deviceNames('3F2A9C1E-5B7D-4E8F-9A0B-1C2D3E4F5A6B').internal, 'nn3f2a9c1e5b7d');
});
