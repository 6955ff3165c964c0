import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  canonicalCidr,
  checkHostAddress,
  cidrsOverlap,
  compareCidrs,
  containsIp,
  isUuid,
  parseCidr,
  parseIfaceAddress,
  parseIp,
  parseMac,
} from './ip.ts';

const value = <T>(c: { ok: true; value: T } | { ok: false; reason: string }): T => {
  if (!c.ok) throw new Error(c.reason);
  return c.value;
};

test('addresses parse strictly and come out canonical (RFC 5952 for IPv6)', () => {
  assert.equal(value(parseIp('1.2.0.100')).text, '1.2.0.100');
  assert.equal(value(parseIp('2001:DB8:0:0::5')).text, '2001:db8::5');
  assert.equal(value(parseIp('fd00:1:0::100')).family, 6);
  for (const bad of [
    '1.2.0',
    '01.2.0.1',
    '1.2.0.256',
    '0x1.2.3.4',
    '1',
    'fe80::1%eth0',
    '',
    'x',
    '1.2.0.1/16',
  ])
    assert.equal(parseIp(bad).ok, false, bad);
  const v6 = parseIp('fd00::1::2');
  assert.ok(!v6.ok && /IPv6/.test(v6.reason), 'a malformed IPv6 address is called one');
});

test('a CIDR is a network with no host bits; an interface address may have them', () => {
  assert.equal(value(parseCidr('1.2.0.0/16')).cidr, '1.2.0.0/16');
  assert.equal(value(parseCidr('FD00:1:0::/64')).cidr, 'fd00:1::/64');
  const hostBits = parseCidr('1.2.0.100/16');
  assert.ok(!hostBits.ok && hostBits.reason.includes('did you mean 1.2.0.0/16'));
  for (const bad of ['1.2.0.100', '1.2.0.0/33', '1.2.0.0/016', '1.2.0.0/', '::/129', '1.2.0.0/1 6'])
    assert.equal(parseCidr(bad).ok, false, bad);
  assert.equal(value(parseIfaceAddress('1.2.0.100/16')).text, '1.2.0.100/16');
  assert.equal(value(parseIfaceAddress('fd00:1::0:100/64')).text, 'fd00:1::100/64');
  assert.equal(canonicalCidr('10.1.2.3/8'), '10.0.0.0/8');
  assert.equal(canonicalCidr('fd00:0:0:0::5/64'), 'fd00::/64');
  assert.equal(canonicalCidr('nope'), undefined);
});

test('host addresses: not the network, IPv4 broadcast or IPv6 subnet-router anycast address', () => {
  const v4 = value(parseCidr('1.2.0.0/16'));
  const v6 = value(parseCidr('fd00:1::/64'));
  const ip = (t: string) => value(parseIp(t));
  assert.equal(checkHostAddress(ip('1.2.0.100'), v4), undefined);
  assert.match(checkHostAddress(ip('1.2.0.0'), v4)!, /network address/);
  assert.match(checkHostAddress(ip('1.2.255.255'), v4)!, /broadcast/);
  assert.match(checkHostAddress(ip('1.3.0.1'), v4)!, /not inside/);
  assert.equal(checkHostAddress(ip('fd00:1::100'), v6), undefined);
  assert.match(checkHostAddress(ip('fd00:1::'), v6)!, /subnet-router anycast/);
  assert.match(checkHostAddress(ip('fd00:2::1'), v6)!, /not inside fd00:1::\/64/);
  assert.match(checkHostAddress(ip('fd00:1::1'), v4)!, /is IPv6 but 1.2.0.0\/16 is IPv4/);
  assert.equal(checkHostAddress(ip('1.2.0.0'), value(parseCidr('1.2.0.0/31'))), undefined);
});

test('containment and overlap across families', () => {
  assert.ok(containsIp('1.2.0.0/16', '1.2.3.4'));
  assert.ok(!containsIp('1.2.0.0/16', 'fd00::1'));
  assert.ok(containsIp('fd00:1::/64', 'fd00:1::abcd'));
  assert.ok(!containsIp('garbage', '1.2.3.4'));
  const c = (t: string) => value(parseCidr(t));
  assert.ok(cidrsOverlap(c('10.96.0.0/12'), c('10.100.0.0/16')));
  assert.ok(!cidrsOverlap(c('10.96.0.0/12'), c('1.2.0.0/16')));
  assert.ok(!cidrsOverlap(c('10.96.0.0/12'), c('fd00::/8')));
});

test('MACs: colon or dash separated, unicast, not zero; ids are dashed UUIDs', () => {
  assert.equal(value(parseMac('C2:11:22:33:44:55')), 'c2:11:22:33:44:55');
  assert.equal(value(parseMac('c2-11-22-33-44-55')), 'c2:11:22:33:44:55');
  for (const bad of [
    'c2:11:22:33:44',
    'c2:11:22:33:44:5g',
    'c2:11-22:33:44:55',
    '01:00:5e:00:00:01',
    '00:00:00:00:00:00',
  ])
    assert.equal(parseMac(bad).ok, false, bad);
  assert.ok(isUuid('3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b'));
  assert.ok(!isUuid('3f2a9c1e5b7d4e8f9a0b1c2d3e4f5a6b'));
});

// Cases kept from the CLI's validate tests, where these helpers used to live.
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
  assert.deepEqual(parseIp('fd00:::1'), { ok: false, reason: 'not a valid IPv6 address' });
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
  assert.equal(
    checkHostAddress(ip('fd00::'), cidr('fd00::/64')),
    'is the subnet-router anycast address of fd00::/64',
  );
  assert.equal(checkHostAddress(ip('fd00::ffff:ffff:ffff:ffff'), cidr('fd00::/64')), undefined);
});

test('a MAC is six hex pairs with one kind of separator, unicast and not zero; returned lowercase with colons', () => {
  assert.deepEqual(parseMac('FA:16:3E:00:00:01'), { ok: true, value: 'fa:16:3e:00:00:01' });
  assert.deepEqual(parseMac('fa-16-3e-00-00-01'), { ok: true, value: 'fa:16:3e:00:00:01' });
  for (const bad of ['fa:16:3e:00:00', 'fa:16:3e-00:00:01', 'fa163e000001', 'gg:16:3e:00:00:01', ''])
    assert.match((parseMac(bad) as { reason: string }).reason, /not a MAC address/, bad);
  assert.deepEqual(parseMac('01:00:5e:00:00:01'), { ok: false, reason: 'is a multicast address' });
  assert.deepEqual(parseMac('00:00:00:00:00:00'), { ok: false, reason: 'is the zero address' });
});

test('CIDRs sort by family, address and prefix, not as text', () => {
  assert.deepEqual(
    ['192.168.10.0/24', '10.0.0.0/8', '9.0.0.0/8', 'fd00::/64', '1.2.0.0/24', '1.2.0.0/16'].sort(
      compareCidrs,
    ),
    ['1.2.0.0/16', '1.2.0.0/24', '9.0.0.0/8', '10.0.0.0/8', '192.168.10.0/24', 'fd00::/64'],
  );
});
