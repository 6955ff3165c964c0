import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AttachmentData,
  attachmentResult,
  encodeResult,
  mergeWithPrevResult,
  resultProblems,
} from './result.ts';
import type { CniResult } from './spec.ts';

const POD: AttachmentData = {
  ifname: 'eth0',
  mac: 'FA:16:3E:AA:BB:CC',
  mtu: 1450,
  sandbox: '/run/netns/p1',
  addresses: [
    { ip: '1.2.0.100', prefixLength: 16, gateway: '1.2.0.1' },
    { ip: '2001:db8::64', prefixLength: 64 },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '1.2.0.1' },
    { dst: '::/0', gw: '2001:db8::1' },
  ],
  dns: { nameservers: ['1.2.0.2'], search: ['default.svc.cluster.local'] },
};

test('attachmentResult builds one sandbox interface with every address on it', () => {
  assert.deepEqual(attachmentResult(POD), {
    interfaces: [{ name: 'eth0', mac: 'fa:16:3e:aa:bb:cc', mtu: 1450, sandbox: '/run/netns/p1' }],
    ips: [
      { address: '1.2.0.100/16', gateway: '1.2.0.1', interface: 0 },
      { address: '2001:db8::64/64', interface: 0 },
    ],
    routes: [
      { dst: '0.0.0.0/0', gw: '1.2.0.1' },
      { dst: '::/0', gw: '2001:db8::1' },
    ],
    dns: { nameservers: ['1.2.0.2'], search: ['default.svc.cluster.local'] },
  });
});

test('encoding follows the config version: 1.1.0 full, 1.0.0 without 1.1 fields, 0.4.0 with IP versions', () => {
  const r: CniResult = {
    ...attachmentResult(POD),
    routes: [{ dst: '0.0.0.0/0', gw: '1.2.0.1', mtu: 1400, priority: 5, table: 100, scope: 0, advmss: 1360 }],
  };
  r.interfaces[0]!.socketPath = '/run/vhost.sock';
  r.interfaces[0]!.pciID = '0000:00:1f.0';

  const v11 = encodeResult(r, '1.1.0');
  assert.equal(v11.cniVersion, '1.1.0');
  assert.deepEqual(v11.interfaces, [
    {
      name: 'eth0',
      mac: 'fa:16:3e:aa:bb:cc',
      mtu: 1450,
      sandbox: '/run/netns/p1',
      socketPath: '/run/vhost.sock',
      pciID: '0000:00:1f.0',
    },
  ]);
  assert.deepEqual(v11.routes, [
    { dst: '0.0.0.0/0', gw: '1.2.0.1', mtu: 1400, advmss: 1360, priority: 5, table: 100, scope: 0 },
  ]);

  const v10 = encodeResult(r, '1.0.0');
  assert.deepEqual(v10.interfaces, [{ name: 'eth0', mac: 'fa:16:3e:aa:bb:cc', sandbox: '/run/netns/p1' }]);
  assert.deepEqual(v10.routes, [{ dst: '0.0.0.0/0', gw: '1.2.0.1' }]);
  assert.deepEqual(v10.ips, [
    { address: '1.2.0.100/16', gateway: '1.2.0.1', interface: 0 },
    { address: '2001:db8::64/64', interface: 0 },
  ]);

  const v04 = encodeResult(r, '0.4.0');
  assert.equal(v04.cniVersion, '0.4.0');
  assert.deepEqual(v04.ips, [
    { version: '4', address: '1.2.0.100/16', gateway: '1.2.0.1', interface: 0 },
    { version: '6', address: '2001:db8::64/64', interface: 0 },
  ]);
  assert.deepEqual(v04.dns, { nameservers: ['1.2.0.2'], search: ['default.svc.cluster.local'] });
});

test('empty routes and DNS are left out; ips is always present', () => {
  const out = encodeResult({ interfaces: [], ips: [], routes: [], dns: {} }, '1.0.0');
  assert.deepEqual(out, { cniVersion: '1.0.0', ips: [] });
});

test('a result that breaks the spec is refused with every problem named', () => {
  const bad: [CniResult, RegExp][] = [
    [{ ...attachmentResult(POD), ips: [{ address: '1.2.0.100', interface: 0 }] }, /ips\[0\]\.address/],
    [{ ...attachmentResult(POD), ips: [{ address: '1.2.0.100/16', interface: 1 }] }, /ips\[0\]\.interface/],
    [{ ...attachmentResult(POD), ips: [{ address: '1.2.0.100/16', gateway: '::1' }] }, /ips\[0\]\.gateway/],
    [{ ...attachmentResult(POD), routes: [{ dst: '0.0.0.0/0', gw: '2001:db8::1' }] }, /routes\[0\]\.gw/],
    [{ ...attachmentResult(POD), routes: [{ dst: '10.0.0.0' }] }, /routes\[0\]\.dst/],
    [{ ...attachmentResult(POD), routes: [{ dst: '10.0.0.0/8', priority: -1 }] }, /routes\[0\]\.priority/],
    [{ ...attachmentResult({ ...POD, mac: 'aa:bb' }) }, /interfaces\[0\]\.mac/],
    [{ ...attachmentResult({ ...POD, ifname: 'eth0 1' }) }, /interfaces\[0\]\.name/],
    [{ ...attachmentResult({ ...POD, mtu: 0 }) }, /interfaces\[0\]\.mtu/],
    [{ ...attachmentResult(POD), dns: { nameservers: ['dns.example'] } }, /dns\.nameservers/],
  ];
  for (const [r, why] of bad) {
    assert.match(resultProblems(r).join('; '), why);
    assert.throws(
      () => encodeResult(r, '1.1.0'),
      (e: Error) => why.test(e.message) && /invalid CNI result/.test(e.message),
    );
  }
  assert.deepEqual(resultProblems(attachmentResult(POD)), []);
});

test('a chained prevResult comes first and our interface indexes shift past it', () => {
  const prev: CniResult = {
    interfaces: [
      { name: 'cni0', mac: '00:11:22:33:44:55' },
      { name: 'eth0', sandbox: '/run/netns/p1' },
    ],
    ips: [{ address: '10.0.0.5/24', interface: 1 }],
    routes: [{ dst: '10.0.0.0/8' }],
    dns: { domain: 'cluster.local', nameservers: ['10.0.0.1'] },
  };
  const ours = attachmentResult({ ...POD, ifname: 'net1' });
  const merged = mergeWithPrevResult(prev, ours);
  assert.equal(merged.interfaces.length, 3);
  assert.equal(merged.interfaces[2]!.name, 'net1');
  assert.deepEqual(
    merged.ips.map((i) => i.interface),
    [1, 2, 2],
  );
  assert.equal(merged.routes.length, 3);
  assert.deepEqual(merged.dns, {
    domain: 'cluster.local',
    nameservers: ['1.2.0.2'],
    search: ['default.svc.cluster.local'],
  });
  assert.deepEqual(resultProblems(merged), []);
  assert.equal(mergeWithPrevResult(undefined, ours), ours);
});
