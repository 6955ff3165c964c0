import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkDns1123Label,
  checkDns1123Subdomain,
  checkHostAddress,
  checkPodNetworkFields,
  checkResourceName,
  compareCidrs,
  parseCidr,
  parseIp,
  parseMac,
} from './validate.ts';

function ip(text: string) {
  const r = parseIp(text);
  assert.ok(r.ok, text);
  return r.value;
}

function cidr(text: string) {
  const r = parseCidr(text);
  assert.ok(r.ok, text);
  return r.value;
}

test('IPv4 must be four decimal parts without leading zeros', () => {
  assert.equal(ip('1.2.0.100').text, '1.2.0.100');
  assert.equal(ip('1.2.0.100').family, 4);
  for (const bad of ['1.2.0', '1.2.0.256', '01.2.0.1', '0x1.2.3.4', '1.2.3.4 ', '', 'pod1', '1.2.3.4/32']) {
    assert.equal(parseIp(bad).ok, false, bad);
  }
});

test('IPv6 is canonicalised (RFC 5952) and zones are refused', () => {
  assert.equal(ip('FD00:0:0:0::0064').text, 'fd00::64');
  assert.equal(ip('::1').family, 6);
  assert.equal(parseIp('fe80::1%eth0').ok, false);
  assert.equal(parseIp('fd00:::1').ok, false);
});

test('a CIDR needs ADDRESS/PREFIX, a prefix in range and no host bits', () => {
  assert.deepEqual((({ cidr: c, family, prefix }) => ({ c, family, prefix }))(cidr('1.2.0.0/16')), {
    c: '1.2.0.0/16',
    family: 4,
    prefix: 16,
  });
  assert.equal(cidr('FD00::/64').cidr, 'fd00::/64');
  assert.equal(cidr('0.0.0.0/0').cidr, '0.0.0.0/0');
  const reasons = Object.fromEntries(
    ['1.2.0.0', '1.2.0.0/33', 'fd00::/129', '1.2.0.0/016', '1.2.0.0/', '1.2.3.4/16', 'x/16'].map((t) => {
      const r = parseCidr(t);
      return [t, r.ok ? 'ok' : r.reason];
    }),
  );
  assert.match(reasons['1.2.0.0']!, /not a CIDR/);
  assert.match(reasons['1.2.0.0/33']!, /prefix length 33 is longer than 32/);
  assert.match(reasons['fd00::/129']!, /prefix length 129 is longer than 128/);
  assert.match(reasons['1.2.0.0/016']!, /not a CIDR/);
  assert.match(reasons['1.2.0.0/']!, /not a CIDR/);
  assert.equal(reasons['1.2.3.4/16'], 'host bits are set (did you mean 1.2.0.0/16?)');
  assert.match(reasons['x/16']!, /not a CIDR/);
});

test('a host address lies inside its CIDR and is neither the network nor the broadcast address', () => {
  const net = cidr('1.2.0.0/16');
  assert.equal(checkHostAddress(ip('1.2.0.100'), net), undefined);
  assert.equal(checkHostAddress(ip('1.2.255.254'), net), undefined);
  assert.equal(checkHostAddress(ip('1.3.0.1'), net), 'is not inside 1.2.0.0/16');
  assert.equal(checkHostAddress(ip('1.2.0.0'), net), 'is the network address of 1.2.0.0/16');
  assert.equal(checkHostAddress(ip('1.2.255.255'), net), 'is the broadcast address of 1.2.0.0/16');
  assert.equal(
    checkHostAddress(ip('192.168.10.255'), cidr('192.168.10.0/24')),
    'is the broadcast address of 192.168.10.0/24',
  );
  assert.equal(checkHostAddress(ip('fd00::1'), net), 'is IPv6 but 1.2.0.0/16 is IPv4');
});

test('/31 and /32 have no network or broadcast address; IPv6 has no broadcast', () => {
  assert.equal(checkHostAddress(ip('10.0.0.0'), cidr('10.0.0.0/31')), undefined);
  assert.equal(checkHostAddress(ip('10.0.0.1'), cidr('10.0.0.0/31')), undefined);
  assert.equal(checkHostAddress(ip('10.0.0.7'), cidr('10.0.0.7/32')), undefined);
  assert.equal(checkHostAddress(ip('fd00::'), cidr('fd00::/64')), 'is the network address of fd00::/64');
  assert.equal(checkHostAddress(ip('fd00::ffff:ffff:ffff:ffff'), cidr('fd00::/64')), undefined);
});

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
  assert.deepEqual(checkPodNetworkFields({ subnet: 'FD00::/64', ip: 'fd00::0064' }), {
    ok: true,
    value: { subnet: 'fd00::/64', ip: 'fd00::64' },
  });
  assert.deepEqual(checkPodNetworkFields({ network: 'pods', subnet: 'pods-a', ip: '9.9.9.9' }), {
    ok: true,
    value: { network: 'pods', subnet: 'pods-a', ip: '9.9.9.9' },
  });
  assert.deepEqual(checkPodNetworkFields({ subnet: '1.2.0.0/16', ip: '1.3.0.1' }), {
    ok: false,
    field: 'ip',
    value: '1.3.0.1',
    reason: 'is not inside 1.2.0.0/16',
  });
  const bad = checkPodNetworkFields({ subnet: '1.2.3.0/16' });
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.field, 'subnet');
});

test('a MAC is six hex pairs with one kind of separator, unicast and not zero; returned lowercase with colons', () => {
  assert.deepEqual(parseMac('FA:16:3E:00:00:01'), { ok: true, value: 'fa:16:3e:00:00:01' });
  assert.deepEqual(parseMac('fa-16-3e-00-00-01'), { ok: true, value: 'fa:16:3e:00:00:01' });
  for (const bad of ['fa:16:3e:00:00', 'fa:16:3e-00:00:01', 'fa163e000001', 'gg:16:3e:00:00:01', ''])
    assert.match((parseMac(bad) as { reason: string }).reason, /not a MAC address/, bad);
  assert.deepEqual(parseMac('01:00:5e:00:00:01'), { ok: false, reason: 'is a multicast address' });
  assert.deepEqual(parseMac('00:00:00:00:00:00'), { ok: false, reason: 'is the zero address' });
  assert.deepEqual(checkPodNetworkFields({ mac: 'FA:16:3E:00:00:01' }), {
    ok: true,
    value: { mac: 'fa:16:3e:00:00:01' },
  });
});

test('CIDRs sort by family, address and prefix, not as text', () => {
  assert.deepEqual(
    ['192.168.10.0/24', '10.0.0.0/8', '9.0.0.0/8', 'fd00::/64', '1.2.0.0/24', '1.2.0.0/16'].sort(
      compareCidrs,
    ),
    ['1.2.0.0/16', '1.2.0.0/24', '9.0.0.0/8', '10.0.0.0/8', '192.168.10.0/24', 'fd00::/64'],
  );
});
