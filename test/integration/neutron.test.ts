/**
 * The Neutron client against the real Neutron (ML2/OVN) of the test environment. Every resource is
 * named `nnt-idn-<run>-…` and tagged with the run's tag; `after` removes whatever is left.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { NeutronError } from '../../src/errors/index.ts';
import { createSession, loadCredentials } from '../../src/identity/index.ts';
import { createLogger } from '../../src/log/index.ts';
import { createNeutronClient, type Network, type Port, type Subnet } from '../../src/neutron/index.ts';
import { ensureEnv } from '../support/env.ts';

const env = ensureEnv();
const RUN = `nnt-idn-${randomBytes(3).toString('hex')}`;
const TAG = RUN;
const cacheDir = mkdtempSync(join(tmpdir(), `${RUN}-`));
const session = createSession(loadCredentials({ file: env.cloudsYaml, cloud: env.cloud, env: {} }), {
  cacheDir,
});
const neutron = createNeutronClient(session);

let net: Network;
let subnet: Subnet; // 1.2.0.0/16

/** fn over items, at most `limit` at a time (Neutron here has one API worker). */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const isReason = (reason: string) => (e: unknown) => e instanceof NeutronError && e.reason === reason;

before(async () => {
  net = await neutron.networks.create({ name: `${RUN}-net`, tags: [TAG] });
  subnet = await neutron.subnets.create({
    networkId: net.id,
    cidr: '1.2.0.0/16',
    name: `${RUN}-a`,
    tags: [TAG],
  });
});

after(async () => {
  // Routers first (their interface ports block subnet deletion), then ports, subnets, networks, groups.
  for (const r of await neutron.routers.list({ tags: [TAG] })) {
    for (const p of await neutron.ports.list({ deviceId: r.id }))
      await neutron.routers.removeInterface(r.id, { portId: p.id }).catch(() => undefined);
    await neutron.routers.ensureDeleted(r.id);
  }
  for (const n of await neutron.networks.list({ tags: [TAG] })) {
    await mapLimit(await neutron.ports.list({ networkId: n.id }), 4, (p) =>
      neutron.ports.ensureDeleted(p.id),
    );
    await neutron.networks.ensureDeleted(n.id);
  }
  for (const g of await neutron.securityGroups.list({ tags: [TAG] }))
    await neutron.securityGroups.ensureDeleted(g.id);
  rmSync(cacheDir, { recursive: true, force: true });
});

test('networks: create with tags, get, list by tag, update, delete; then not-found and ensureDeleted is false', async () => {
  const n = await neutron.networks.create({ name: `${RUN}-crud`, tags: [TAG, 'extra'], mtu: 1400 });
  assert.deepEqual([...n.tags].sort(), ['extra', TAG].sort());
  assert.equal(n.mtu, 1400);
  const got = await neutron.networks.get(n.id);
  assert.equal(got.name, `${RUN}-crud`);
  assert.deepEqual([...got.tags].sort(), ['extra', TAG].sort(), 'tags were set at create time');
  const listed = await neutron.networks.list({ tags: [TAG, 'extra'] });
  assert.deepEqual(
    listed.map((x) => x.id),
    [n.id],
  );
  const updated = await neutron.networks.update(n.id, { name: `${RUN}-renamed`, adminStateUp: false });
  assert.equal(updated.name, `${RUN}-renamed`);
  assert.equal(updated.adminStateUp, false);
  await neutron.networks.delete(n.id);
  await assert.rejects(neutron.networks.get(n.id), isReason('not-found'));
  assert.equal(await neutron.networks.ensureDeleted(n.id), false);
});

test('subnets: gateway, allocation pools, DNS servers and enable_dhcp are set, read back and updated', async () => {
  const s = await neutron.subnets.create({
    networkId: net.id,
    cidr: '10.77.0.0/24',
    name: `${RUN}-crud`,
    gatewayIp: '10.77.0.254',
    allocationPools: [{ start: '10.77.0.10', end: '10.77.0.99' }],
    dnsNameservers: ['10.77.0.2', '10.77.0.3'],
    enableDhcp: false,
    tags: [TAG],
  });
  try {
    const got = await neutron.subnets.get(s.id);
    assert.equal(got.ipVersion, 4);
    assert.equal(got.gatewayIp, '10.77.0.254');
    assert.deepEqual(got.allocationPools, [{ start: '10.77.0.10', end: '10.77.0.99' }]);
    assert.deepEqual(got.dnsNameservers, ['10.77.0.2', '10.77.0.3']);
    assert.equal(got.enableDhcp, false);
    assert.deepEqual(got.tags, [TAG]);
    const u = await neutron.subnets.update(s.id, {
      gatewayIp: null,
      dnsNameservers: ['1.1.1.1'],
      enableDhcp: true,
      allocationPools: [{ start: '10.77.0.10', end: '10.77.0.200' }],
    });
    assert.equal(u.gatewayIp, null);
    assert.deepEqual(u.dnsNameservers, ['1.1.1.1']);
    assert.equal(u.enableDhcp, true);
    assert.deepEqual(u.allocationPools, [{ start: '10.77.0.10', end: '10.77.0.200' }]);
    const listed = await neutron.subnets.list({ networkId: net.id, cidr: '10.77.0.0/24' });
    assert.deepEqual(
      listed.map((x) => x.id),
      [s.id],
    );
  } finally {
    await neutron.subnets.delete(s.id);
  }
  await assert.rejects(neutron.subnets.get(s.id), isReason('not-found'));
});

test('ports: fixed IP 1.2.0.100 with MAC, host binding, device, tags and security group, read back and updated', async () => {
  const sg = await neutron.securityGroups.create({ name: `${RUN}-port-sg`, tags: [TAG] });
  const port = await neutron.ports.create({
    networkId: net.id,
    name: `${RUN}-p100`,
    fixedIps: [{ subnetId: subnet.id, ipAddress: '1.2.0.100' }],
    macAddress: 'fa:16:3e:1d:00:64',
    hostId: `${RUN}-node`,
    deviceOwner: 'compute:nnet',
    deviceId: `${RUN}-pod-uid`,
    securityGroups: [sg.id],
    adminStateUp: true,
    tags: [TAG, 'pod=default/web'],
  });
  try {
    const got = await neutron.ports.get(port.id);
    assert.deepEqual(got.fixedIps, [{ subnetId: subnet.id, ipAddress: '1.2.0.100' }]);
    assert.equal(got.macAddress, 'fa:16:3e:1d:00:64');
    assert.equal(got.hostId, `${RUN}-node`);
    assert.equal(got.deviceOwner, 'compute:nnet');
    assert.equal(got.deviceId, `${RUN}-pod-uid`);
    assert.deepEqual(got.securityGroups, [sg.id]);
    assert.deepEqual([...got.tags].sort(), ['pod=default/web', TAG].sort());
    assert.equal(got.name, `${RUN}-p100`);
    // No chassis has this host name: the port stays DOWN and its binding fails; both are read back.
    assert.equal(got.status, 'DOWN');
    assert.equal(typeof got.vifType, 'string');
    assert.ok(['binding_failed', 'unbound', 'ovs'].includes(got.vifType!), got.vifType);

    const u = await neutron.ports.update(port.id, { hostId: '', name: `${RUN}-p100b`, adminStateUp: false });
    assert.equal(u.hostId, '');
    assert.equal(u.vifType, 'unbound');
    assert.equal(u.name, `${RUN}-p100b`);
    assert.equal(u.adminStateUp, false);
    const byDevice = await neutron.ports.list({ deviceId: `${RUN}-pod-uid` });
    assert.deepEqual(
      byDevice.map((p) => p.id),
      [port.id],
    );
  } finally {
    await neutron.ports.delete(port.id);
    await neutron.securityGroups.delete(sg.id);
  }
  await assert.rejects(neutron.ports.get(port.id), isReason('not-found'));
});

test('a second port asking for 1.2.0.100 fails with ip-taken naming the IP and subnet, and leaks no port', async () => {
  const holder = await neutron.ports.create({
    networkId: net.id,
    name: `${RUN}-holder`,
    fixedIps: [{ subnetId: subnet.id, ipAddress: '1.2.0.100' }],
    tags: [TAG],
  });
  try {
    const err = await neutron.ports
      .create({
        networkId: net.id,
        name: `${RUN}-dup`,
        fixedIps: [{ subnetId: subnet.id, ipAddress: '1.2.0.100' }],
        tags: [TAG],
      })
      .then(
        () => assert.fail('the second port was created'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof NeutronError, String(err));
    assert.equal(err.reason, 'ip-taken');
    assert.equal(err.status, 409);
    assert.equal(err.retryable, false);
    assert.ok(err.message.includes('1.2.0.100'), err.message);
    assert.ok(err.message.includes(subnet.id), err.message);
    assert.equal((await neutron.ports.findByIp(subnet.id, '1.2.0.100'))?.id, holder.id);
    assert.equal(await neutron.ports.findByIp(subnet.id, '1.2.0.99'), undefined);
    assert.deepEqual(await neutron.ports.list({ networkId: net.id, name: `${RUN}-dup` }), []);
  } finally {
    await neutron.ports.delete(holder.id);
  }
});

test('50 ports created and deleted (4 at a time) leave no port behind on the network', async () => {
  const before = await neutron.ports.list({ networkId: net.id });
  const created: Port[] = await mapLimit(
    Array.from({ length: 50 }, (_, i) => i),
    4,
    (i) =>
      neutron.ports.create({
        networkId: net.id,
        name: `${RUN}-bulk-${i}`,
        fixedIps: [{ subnetId: subnet.id }],
      }),
  );
  assert.equal(new Set(created.map((p) => p.fixedIps[0]?.ipAddress)).size, 50, '50 distinct IPs');
  const during = await neutron.ports.list({ networkId: net.id, deviceOwner: '' });
  assert.equal(during.filter((p) => p.name.startsWith(`${RUN}-bulk-`)).length, 50);
  const deleted = await mapLimit(created, 4, (p) => neutron.ports.ensureDeleted(p.id));
  assert.ok(deleted.every(Boolean));
  const left = await neutron.ports.list({ networkId: net.id });
  assert.deepEqual(left.map((p) => p.id).sort(), before.map((p) => p.id).sort());
});

test('one router joins 1.2.0.0/16 and 192.168.10.0/24 through two interfaces at the gateway IPs', async () => {
  const second = await neutron.subnets.create({
    networkId: (await neutron.networks.create({ name: `${RUN}-net2`, tags: [TAG] })).id,
    cidr: '192.168.10.0/24',
    name: `${RUN}-b`,
    tags: [TAG],
  });
  const router = await neutron.routers.create({ name: `${RUN}-router`, tags: [TAG] });
  assert.deepEqual(router.tags, [TAG]);
  const a = await neutron.routers.addInterface(router.id, { subnetId: subnet.id });
  const b = await neutron.routers.addInterface(router.id, { subnetId: second.id });
  assert.equal(a.routerId, router.id);
  assert.equal(b.subnetId, second.id);
  const ifaces = await neutron.ports.list({ deviceId: router.id });
  assert.deepEqual(ifaces.map((p) => p.fixedIps[0]?.ipAddress).sort(), ['1.2.0.1', '192.168.10.1']);
  assert.ok(ifaces.every((p) => p.deviceOwner.startsWith('network:router_interface')));
  const renamed = await neutron.routers.update(router.id, { name: `${RUN}-router2` });
  assert.equal(renamed.name, `${RUN}-router2`);
  await neutron.routers.removeInterface(router.id, { subnetId: subnet.id });
  await neutron.routers.removeInterface(router.id, { portId: b.portId });
  assert.deepEqual(await neutron.ports.list({ deviceId: router.id }), []);
  await neutron.routers.delete(router.id);
  await assert.rejects(neutron.routers.get(router.id), isReason('not-found'));
  await neutron.subnets.delete(second.id);
  await neutron.networks.delete(second.networkId);
});

test('listing 12 ports with limit=5 follows the next links over 3 pages and returns all 12', async () => {
  const pnet = await neutron.networks.create({ name: `${RUN}-pages`, tags: [TAG] });
  const psub = await neutron.subnets.create({ networkId: pnet.id, cidr: '10.88.0.0/24', tags: [TAG] });
  const ports = await mapLimit(
    Array.from({ length: 12 }, (_, i) => i),
    4,
    (i) =>
      neutron.ports.create({
        networkId: pnet.id,
        name: `${RUN}-page-${i}`,
        fixedIps: [{ subnetId: psub.id }],
      }),
  );
  const pageSizes: number[] = [];
  for await (const page of neutron.ports.pages({ networkId: pnet.id, deviceOwner: '' }, { limit: 5 }))
    pageSizes.push(page.length);
  assert.deepEqual(pageSizes, [5, 5, 2]);
  const all = await neutron.ports.list({ networkId: pnet.id, deviceOwner: '' }, { limit: 5 });
  assert.equal(all.length, 12);
  assert.deepEqual(new Set(all.map((p) => p.id)), new Set(ports.map((p) => p.id)));
  // A page size dividing the count exactly ends on an empty page, which is not yielded.
  const sizes4: number[] = [];
  for await (const page of neutron.ports.pages({ networkId: pnet.id, deviceOwner: '' }, { limit: 4 }))
    sizes4.push(page.length);
  assert.deepEqual(sizes4, [4, 4, 4]);
  await mapLimit(ports, 4, (p) => neutron.ports.delete(p.id));
});

test('security groups and rules: create, get, list, update, delete', async () => {
  const g = await neutron.securityGroups.create({ name: `${RUN}-sg`, description: 'web', tags: [TAG] });
  assert.deepEqual(g.tags, [TAG]);
  assert.ok(g.rules.length >= 2, 'Neutron adds default egress rules');
  const rule = await neutron.securityGroupRules.create({
    securityGroupId: g.id,
    direction: 'ingress',
    protocol: 'tcp',
    portRangeMin: 80,
    portRangeMax: 443,
    remoteIpPrefix: '1.2.0.0/16',
  });
  assert.equal(rule.protocol, 'tcp');
  assert.equal(rule.portRangeMax, 443);
  assert.equal((await neutron.securityGroupRules.get(rule.id)).remoteIpPrefix, '1.2.0.0/16');
  const rules = await neutron.securityGroupRules.list({ securityGroupId: g.id, direction: 'ingress' });
  assert.deepEqual(
    rules.map((r) => r.id),
    [rule.id],
  );
  const got = await neutron.securityGroups.get(g.id);
  assert.ok(got.rules.some((r) => r.id === rule.id));
  const u = await neutron.securityGroups.update(g.id, { name: `${RUN}-sg2`, description: 'web2' });
  assert.equal(u.name, `${RUN}-sg2`);
  assert.equal(u.description, 'web2');
  await neutron.securityGroupRules.delete(rule.id);
  assert.equal(await neutron.securityGroupRules.ensureDeleted(rule.id), false);
  await neutron.securityGroups.delete(g.id);
  await assert.rejects(neutron.securityGroups.get(g.id), isReason('not-found'));
});

test('Neutron errors are typed: not-found, bad-request, and conflict on deleting a subnet in use', async () => {
  await assert.rejects(neutron.ports.get('00000000-0000-0000-0000-000000000000'), (e: unknown) => {
    assert.ok(isReason('not-found')(e));
    assert.match(
      (e as Error).message,
      /getting port 00000000-0000-0000-0000-000000000000 failed: .*(HTTP 404 PortNotFound)/,
    );
    return true;
  });
  await assert.rejects(
    neutron.subnets.create({ networkId: net.id, cidr: '1.2.3.4/99' }),
    (e: unknown) => isReason('bad-request')(e) && (e as NeutronError).status === 400,
  );
  await assert.rejects(
    neutron.ports.create({ networkId: net.id, fixedIps: [{ subnetId: subnet.id, ipAddress: '10.9.9.9' }] }),
    isReason('bad-request'),
  );
  const p = await neutron.ports.create({
    networkId: net.id,
    name: `${RUN}-inuse`,
    fixedIps: [{ subnetId: subnet.id }],
  });
  try {
    await assert.rejects(neutron.subnets.delete(subnet.id), (e: unknown) => {
      assert.ok(isReason('conflict')(e), String(e));
      assert.equal((e as NeutronError).neutronType, 'SubnetInUse');
      return true;
    });
  } finally {
    await neutron.ports.delete(p.id);
  }
  assert.equal(await neutron.ports.ensureDeleted('00000000-0000-0000-0000-000000000000'), false);
});

test('tags given at create time are on the resource when create returns; setTags replaces them', async () => {
  const ext = await neutron.extensions();
  assert.ok(ext.has('standard-attr-tag'));
  const inline = ext.has('tag-creation');
  const n = await neutron.networks.create({ name: `${RUN}-tags`, tags: [TAG, 'a'] });
  assert.deepEqual([...(await neutron.networks.get(n.id)).tags].sort(), ['a', TAG].sort());
  assert.deepEqual([...(await neutron.setTags('networks', n.id, [TAG, 'b']))].sort(), ['b', TAG].sort());
  assert.deepEqual([...(await neutron.networks.get(n.id)).tags].sort(), ['b', TAG].sort());
  await neutron.networks.delete(n.id);
  // With tagsOnCreate: 'inline' on a Neutron without tag-creation, the POST is refused as bad-request.
  if (!inline) {
    const forced = createNeutronClient(session, { tagsOnCreate: 'inline' });
    await assert.rejects(
      forced.networks.create({ name: `${RUN}-inline`, tags: [TAG] }),
      isReason('bad-request'),
    );
  }
});

test('Neutron unreachable: GET and a refused POST are retried with backoff, then fail as unavailable', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  const lines: string[] = [];
  const down = createNeutronClient(session, {
    endpoint: `http://127.0.0.1:${port}`,
    retry: { retries: 2, baseDelayMs: 20, maxDelayMs: 50 },
    logger: createLogger({ component: 'test', sink: (l) => lines.push(l) }),
  });
  await assert.rejects(down.networks.list(), (e: unknown) => {
    assert.ok(isReason('unavailable')(e) && (e as NeutronError).retryable);
    assert.match((e as Error).message, new RegExp(`Neutron at http://127.0.0.1:${port} connection refused`));
    return true;
  });
  assert.equal(lines.filter((l) => l.includes('retrying')).length, 2);
  lines.length = 0;
  await assert.rejects(down.networks.create({ name: `${RUN}-never` }), isReason('unavailable'));
  assert.equal(
    lines.filter((l) => l.includes('retrying')).length,
    2,
    'a POST refused before sending is resent',
  );
});
