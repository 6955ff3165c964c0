import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../errors/index.ts';
import { parsePlugSettings } from './settings.ts';

test('deploy settings default to the production node: system datapath, br-int, internal driver, current netns', () => {
  const s = parsePlugSettings({});
  assert.deepEqual(s, {
    ovsdbSocket: '/var/run/openvswitch/db.sock',
    bridge: 'br-int',
    datapathType: 'system',
    driver: 'internal',
    timeoutMs: 10_000,
  });
  assert.equal(s.vswitchdNetns, undefined);
});

test('an OVSDB remote may be given with or without unix:, or as tcp:HOST:PORT', () => {
  assert.equal(parsePlugSettings({ ovsdb: 'unix:/run/x/db.sock' }).ovsdbSocket, '/run/x/db.sock');
  assert.equal(parsePlugSettings({ ovsdb: '/run/x/db.sock' }).ovsdbSocket, '/run/x/db.sock');
  assert.equal(parsePlugSettings({ ovsdb: 'tcp:127.0.0.1:6640' }).ovsdbSocket, 'tcp:127.0.0.1:6640');
  assert.equal(parsePlugSettings({ ovsdb: 'tcp:[::1]:6640' }).ovsdbSocket, 'tcp:[::1]:6640');
  assert.equal(
    parsePlugSettings({ ovsdb: 'tcp:ovs.node1.example:6640' }).ovsdbSocket,
    'tcp:ovs.node1.example:6640',
  );
});

test('an ssl: OVSDB remote is refused, saying it is not supported', () => {
  assert.throws(
    () => parsePlugSettings({ ovsdb: 'ssl:127.0.0.1:6640' }),
    (e: unknown) =>
      e instanceof InputError &&
      e.reason === 'invalid-config' &&
      /ovsdb: ssl: is not supported/.test(e.message),
  );
});

for (const [what, input, field] of [
  ['an ssl OVSDB remote', { ovsdb: 'ssl:127.0.0.1:6640' }, 'ovsdb'],
  ['a tcp OVSDB remote without a port', { ovsdb: 'tcp:127.0.0.1' }, 'ovsdb'],
  ['a tcp OVSDB remote with port 0', { ovsdb: 'tcp:127.0.0.1:0' }, 'ovsdb'],
  ['a tcp OVSDB remote with a bare IPv6 address', { ovsdb: 'tcp:::1:6640' }, 'ovsdb'],
  ['a relative OVSDB socket', { ovsdb: 'db.sock' }, 'ovsdb'],
  ['an unknown datapath type', { datapathType: 'dpdk' }, 'datapathType'],
  ['an unknown driver', { driver: 'macvlan' }, 'driver'],
  ['a relative vswitchd netns', { vswitchdNetns: 'node1' }, 'vswitchdNetns'],
  ['a bridge name with a space', { bridge: 'br int' }, 'bridge'],
] as const) {
  test(`deploy settings with ${what} are rejected as invalid-config naming ${field}`, () => {
    assert.throws(
      () => parsePlugSettings(input),
      (e: unknown) => e instanceof InputError && e.reason === 'invalid-config' && e.message.includes(field),
    );
  });
}
