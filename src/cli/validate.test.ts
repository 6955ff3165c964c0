import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkDns1123Label,
  checkDns1123Subdomain,
  checkPodNetworkFields,
  checkResourceName,
  splitList,
} from './validate.ts';

test('namespaces are DNS-1123 labels, pod names DNS-1123 subdomains', () => {
  assert.equal(checkDns1123Label('team-a'), undefined);
  assert.match(checkDns1123Label('Team-a')!, /lower case/);
  assert.match(checkDns1123Label('-a')!, /start and end/);
  assert.match(checkDns1123Label('a.b')!, /lower case alphanumeric characters or '-'/);
  assert.match(checkDns1123Label('a'.repeat(64))!, /no more than 63/);
  assert.match(checkDns1123Label('')!, /empty/);
  assert.equal(checkDns1123Subdomain('web-0.cache'), undefined);
  assert.match(checkDns1123Subdomain('web..0')!, /alphanumeric/);
  assert.match(checkDns1123Subdomain('pod_1')!, /alphanumeric/);
  assert.match(checkDns1123Subdomain('a'.repeat(254))!, /no more than 253/);
});

test('Neutron names refuse whitespace, control characters, "/" and ","', () => {
  assert.equal(checkResourceName('Pods_A.1'), undefined);
  assert.equal(checkResourceName('3f0c8a2e-8f4c-4f0e-9d6b-0a4f1c2b3d4e'), undefined);
  for (const bad of ['a b', 'a/b', 'a,b', 'a\tb', 'a\u0000b', ''])
    assert.notEqual(checkResourceName(bad), undefined, JSON.stringify(bad));
  assert.match(checkResourceName('x'.repeat(256))!, /no more than 255/);
});

test('a pod network request: subnet as name or CIDR, IP checked against a CIDR subnet only', () => {
  assert.deepEqual(checkPodNetworkFields({ subnet: 'FD00::/64', ips: ['fd00::0064'] }), {
    ok: true,
    value: { subnet: 'fd00::/64', ips: ['fd00::64'] },
  });
  assert.deepEqual(checkPodNetworkFields({ network: 'pods', subnet: 'pods-a', ips: ['9.9.9.9'] }), {
    ok: true,
    value: { network: 'pods', subnet: 'pods-a', ips: ['9.9.9.9'] },
  });
  assert.deepEqual(checkPodNetworkFields({ subnet: '1.2.0.0/16', ips: ['1.3.0.1'] }), {
    ok: false,
    field: 'ip',
    value: '1.3.0.1',
    reason: 'is not inside 1.2.0.0/16',
  });
  const bad = checkPodNetworkFields({ subnet: '1.2.3.0/16' });
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.field, 'subnet');
});

test('dual-stack: one IP per family, IPv4 first; the one of the CIDR subnet’s family is checked against it', () => {
  assert.deepEqual(checkPodNetworkFields({ subnet: '1.2.0.0/16', ips: ['FD00:1::100', '1.2.0.100'] }), {
    ok: true,
    value: { subnet: '1.2.0.0/16', ips: ['1.2.0.100', 'fd00:1::100'] },
  });
  assert.deepEqual(checkPodNetworkFields({ ips: ['fd00:1::100', 'fd00:1::0101'] }), {
    ok: false,
    field: 'ip',
    value: 'fd00:1::0101',
    reason: 'two IPv6 addresses (fd00:1::100 and fd00:1::101) for one NIC; give at most one per family',
  });
  assert.deepEqual(checkPodNetworkFields({ ips: ['1.2.0.100', 'fd00:1::1::2'] }), {
    ok: false,
    field: 'ip',
    value: 'fd00:1::1::2',
    reason: 'not a valid IPv6 address',
  });
  assert.deepEqual(checkPodNetworkFields({ subnet: 'fd00:1::/64', ips: ['1.2.0.100', 'fd00:2::5'] }), {
    ok: false,
    field: 'ip',
    value: 'fd00:2::5',
    reason: 'is not inside fd00:1::/64',
  });
  assert.deepEqual(checkPodNetworkFields({ subnet: 'fd00:1::/64', ips: ['fd00:1::'] }), {
    ok: false,
    field: 'ip',
    value: 'fd00:1::',
    reason: 'is the subnet-router anycast address of fd00:1::/64',
  });
  assert.deepEqual(checkPodNetworkFields({ ips: [] }), { ok: true, value: { ips: [] } });
});

test('an IP list is split on commas, spaces around entries allowed; an empty entry is refused', () => {
  assert.deepEqual(splitList('1.2.0.100, fd00:1::100'), ['1.2.0.100', 'fd00:1::100']);
  assert.deepEqual(splitList(' 1.2.0.100 '), ['1.2.0.100']);
  assert.equal(splitList('1.2.0.100,'), undefined);
  assert.equal(splitList(''), undefined);
});

test('a pod network request takes a MAC lowercased with colons', () => {
  assert.deepEqual(checkPodNetworkFields({ mac: 'FA:16:3E:00:00:01' }), {
    ok: true,
    value: { mac: 'fa:16:3e:00:00:01' },
  });
  assert.deepEqual(checkPodNetworkFields({ mac: '01:00:5e:00:00:01' }), {
    ok: false,
    field: 'mac',
    value: '01:00:5e:00:00:01',
    reason: 'is a multicast address',
  });
});
