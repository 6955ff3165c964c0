import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NeutronError } from '../errors/index.ts';
import { type AddressingSubnet, nicAddressing } from './addressing.ts';

const V4: AddressingSubnet = { id: 's4', cidr: '1.2.0.0/16', gatewayIp: '1.2.0.1', hostRoutes: [] };
const V6: AddressingSubnet = { id: 's6', cidr: 'fd00:1::/64', gatewayIp: 'fd00:1::1', hostRoutes: [] };
const port = (fixedIps: { subnetId: string; ipAddress: string }[]) => ({
  id: 'p1',
  networkId: 'n1',
  macAddress: 'FA:16:3E:00:00:01',
  fixedIps,
});
const ip4 = { subnetId: 's4', ipAddress: '1.2.0.100' };
const ip6 = { subnetId: 's6', ipAddress: 'fd00:1:0::100' };

test('an IPv4 port gets its address with the subnet prefix and one default route via the gateway', () => {
  const a = nicAddressing({ port: port([ip4]), subnets: [V4], mtu: 1450 });
  assert.deepEqual(a, {
    portId: 'p1',
    networkId: 'n1',
    mac: 'fa:16:3e:00:00:01',
    mtu: 1450,
    ips: [{ address: '1.2.0.100', prefixLength: 16, family: 4, gateway: '1.2.0.1' }],
    routes: [{ dst: '0.0.0.0/0', gateway: '1.2.0.1' }],
  });
});

test('an IPv6-only port gets a canonical address and the ::/0 route', () => {
  const a = nicAddressing({ port: port([ip6]), subnets: [V6], mtu: 1450 });
  assert.deepEqual(a.ips, [{ address: 'fd00:1::100', prefixLength: 64, family: 6, gateway: 'fd00:1::1' }]);
  assert.deepEqual(a.routes, [{ dst: '::/0', gateway: 'fd00:1::1' }]);
});

test('a dual-stack port gets one default route per family, whichever family Neutron lists first', () => {
  const v4First = nicAddressing({ port: port([ip4, ip6]), subnets: [V4, V6], mtu: 1450 });
  const v6First = nicAddressing({ port: port([ip6, ip4]), subnets: [V6, V4], mtu: 1450 });
  assert.deepEqual(v6First, v4First);
  assert.deepEqual(
    v4First.ips.map((i) => `${i.address}/${i.prefixLength}`),
    ['1.2.0.100/16', 'fd00:1::100/64'],
  );
  assert.deepEqual(v4First.routes, [
    { dst: '0.0.0.0/0', gateway: '1.2.0.1' },
    { dst: '::/0', gateway: 'fd00:1::1' },
  ]);
});

test('a subnet without a gateway gives an address and no default route for its family', () => {
  const a = nicAddressing({ port: port([ip4, ip6]), subnets: [{ ...V4, gatewayIp: null }, V6], mtu: 1500 });
  assert.equal(a.ips[0]!.gateway, undefined);
  assert.deepEqual(a.routes, [{ dst: '::/0', gateway: 'fd00:1::1' }]);
});

test("the subnets' host routes follow the default routes; a host route to the default replaces the gateway", () => {
  const v4 = {
    ...V4,
    hostRoutes: [
      { destination: '10.20.0.0/16', nexthop: '1.2.0.254' },
      { destination: '0.0.0.0/0', nexthop: '1.2.0.253' },
      { destination: '172.16.5.7/16', nexthop: '192.168.0.1' },
    ],
  };
  const a = nicAddressing({ port: port([ip4]), subnets: [v4], mtu: 1500 });
  assert.deepEqual(a.routes, [
    { dst: '0.0.0.0/0', gateway: '1.2.0.253' },
    { dst: '10.20.0.0/16', gateway: '1.2.0.254' },
    { dst: '172.16.0.0/16', gateway: '192.168.0.1', onlink: true },
  ]);
});

test('extra routes come last, are onlink when their next hop is outside the NIC subnets, and never shadow Neutron', () => {
  const a = nicAddressing({
    port: port([ip4]),
    subnets: [V4],
    mtu: 1500,
    extraRoutes: [
      { dst: '10.96.0.0/12', gateway: '1.2.0.2' },
      { dst: '10.97.0.0/16', gateway: '100.64.0.1' },
      { dst: '0.0.0.0/0', gateway: '1.2.0.9' },
    ],
  });
  assert.deepEqual(a.routes, [
    { dst: '0.0.0.0/0', gateway: '1.2.0.1' },
    { dst: '10.96.0.0/12', gateway: '1.2.0.2' },
    { dst: '10.97.0.0/16', gateway: '100.64.0.1', onlink: true },
  ]);
});

test('a second NIC carries no default routes, only its host routes and extra routes', () => {
  const v4 = { ...V4, hostRoutes: [{ destination: '10.20.0.0/16', nexthop: '1.2.0.254' }] };
  const a = nicAddressing({ port: port([ip4, ip6]), subnets: [v4, V6], mtu: 1500, defaultRoutes: false });
  assert.deepEqual(a.routes, [{ dst: '10.20.0.0/16', gateway: '1.2.0.254' }]);
});

test('a reply that does not add up is a bad-reply NeutronError, not a crash later', () => {
  const bad = (fn: () => unknown) =>
    assert.throws(fn, (e: unknown) => e instanceof NeutronError && e.reason === 'bad-reply');
  bad(() => nicAddressing({ port: port([ip4]), subnets: [], mtu: 1500 }));
  bad(() =>
    nicAddressing({ port: port([{ subnetId: 's4', ipAddress: '9.9.9.9' }]), subnets: [V4], mtu: 1500 }),
  );
  bad(() => nicAddressing({ port: port([{ subnetId: 's4', ipAddress: 'x' }]), subnets: [V4], mtu: 1500 }));
  bad(() =>
    nicAddressing({
      port: port([ip4]),
      subnets: [{ ...V4, hostRoutes: [{ destination: '10.0.0.0/8', nexthop: 'fd00::1' }] }],
      mtu: 1500,
    }),
  );
});
