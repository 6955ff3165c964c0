import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeviceState } from './links.ts';
import { configureBatch } from './pod.ts';
import { parsePlugSpec } from './spec.ts';

const spec = parsePlugSpec({
  portId: '3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b',
  mac: 'fa:16:3e:00:00:01',
  ips: [
    { address: '10.0.0.5', prefixLength: 24 },
    { address: 'fd00::5', prefixLength: 64 },
  ],
  routes: [
    { dst: '0.0.0.0/0', gateway: '10.0.0.1' },
    { dst: '::/0', gateway: 'fd00::1' },
    { dst: '192.168.0.0/16', gateway: '172.16.0.1', onlink: true },
  ],
  mtu: 1400,
  netns: '/var/run/netns/p',
  ifname: 'net1',
});

test('a freshly moved NIC is renamed, given MAC and MTU, addressed, brought up and routed', () => {
  assert.deepEqual(
    configureBatch(spec, 'nn3f2a9c1e5b7d').map((c) => c.join(' ')),
    [
      'link set dev nn3f2a9c1e5b7d name net1',
      'link set dev net1 address fa:16:3e:00:00:01 mtu 1400',
      'addr replace 10.0.0.5/24 dev net1',
      'addr replace fd00::5/64 dev net1 nodad',
      'link set dev net1 up',
      'route replace 0.0.0.0/0 via 10.0.0.1 dev net1',
      'route replace ::/0 via fd00::1 dev net1',
      'route replace 192.168.0.0/16 via 172.16.0.1 dev net1 onlink',
    ],
  );
});

test('a NIC already as asked only gets the idempotent up and route replaces', () => {
  const state: DeviceState = {
    link: {
      name: 'net1',
      ifindex: 5,
      mac: spec.mac,
      mtu: 1400,
      up: true,
      carrier: true,
      kind: 'tun',
      master: undefined,
      alias: undefined,
    },
    addrs: [
      { family: 4, address: '10.0.0.5', prefixLength: 24 },
      { family: 6, address: 'fd00:0::5', prefixLength: 64 },
    ],
    routes: [],
  };
  const cmds = configureBatch(spec, 'net1', state).map((c) => c.join(' '));
  assert.deepEqual(cmds.slice(0, 1), ['link set dev net1 up']);
  assert.ok(cmds.slice(1).every((c) => c.startsWith('route replace')));
});

test('a NIC with another MAC is taken down before its MAC changes', () => {
  const state: DeviceState = {
    link: {
      name: 'net1',
      ifindex: 5,
      mac: '0a:00:00:00:00:09',
      mtu: 1400,
      up: true,
      carrier: true,
      kind: 'tun',
      master: undefined,
      alias: undefined,
    },
    addrs: [],
    routes: [],
  };
  const cmds = configureBatch(spec, 'net1', state).map((c) => c.join(' '));
  assert.deepEqual(cmds.slice(0, 2), [
    'link set dev net1 down',
    'link set dev net1 address fa:16:3e:00:00:01',
  ]);
});
