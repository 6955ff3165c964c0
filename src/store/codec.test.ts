import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InputError, StoreError } from '../errors/index.ts';
import { decodeRecord, encodeRecord } from './codec.ts';
import { type Attachment, type Cluster, type NodeRecord, TABLES } from './types.ts';

const SECRET = 'hunter2-do-not-print';
const at = '2026-01-02T03:04:05.678Z';
const cluster: Cluster = {
  name: 'c1',
  authUrl: 'http://127.0.0.1:5000/v3',
  interface: 'internal',
  credentials: {
    type: 'password',
    username: 'nnet',
    userDomain: 'Default',
    password: SECRET,
    projectName: 'k8s',
    projectDomain: 'Default',
  },
  createdAt: at,
};
const attachment: Attachment = {
  containerId: 'abc123',
  ifname: 'eth0',
  cluster: 'c1',
  namespace: 'default',
  pod: 'web-0',
  netns: '/var/run/netns/cni-1',
  node: 'node1',
  portId: '4b1c-port',
  portCreatedByAdd: false,
  ips: [
    { address: '1.2.0.100', prefixLength: 16, gateway: '1.2.0.1' },
    { address: 'fd00::64', prefixLength: 64 },
  ],
  routes: [{ dst: '0.0.0.0/0', gateway: '1.2.0.1' }],
  mac: 'fa:16:3e:aa:bb:cc',
  mtu: 1450,
  plugDriver: 'hybrid',
  ovsPort: 'qvo4b1c',
  createdAt: at,
};

const corruptWith =
  (...mentions: string[]) =>
  (e: unknown) => {
    assert.ok(e instanceof StoreError && e.reason === 'corrupt', String(e));
    for (const m of mentions) assert.ok(e.message.includes(m), `"${e.message}" should mention ${m}`);
    assert.ok(!e.message.includes(SECRET));
    return true;
  };

test('a row is the record as JSON plus its index fields in table order', () => {
  const row = encodeRecord(TABLES.attachments, attachment);
  assert.deepEqual(row.index, ['node1', 'c1']);
  assert.deepEqual(JSON.parse(row.data), attachment);
  assert.deepEqual(encodeRecord(TABLES.clusters, cluster).index, []);
});

test('encoding drops fields the schema does not know', () => {
  const row = encodeRecord(TABLES.clusters, { ...cluster, stray: 1 } as Cluster);
  assert.equal('stray' in JSON.parse(row.data), false);
});

test('any valid attachment decodes back to itself', () => {
  const name = fc.stringMatching(/^[a-z0-9][a-z0-9./_-]{0,40}$/);
  const ipv4 = fc.ipV4();
  fc.assert(
    fc.property(
      fc.record({
        containerId: name,
        ifname: fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/),
        node: name,
        portCreatedByAdd: fc.boolean(),
        mtu: fc.integer({ min: 68, max: 65535 }),
        ips: fc.array(
          fc.record({ address: fc.oneof(ipv4, fc.ipV6()), prefixLength: fc.integer({ min: 0, max: 128 }) }),
        ),
      }),
      (over) => {
        const a: Attachment = JSON.parse(JSON.stringify({ ...attachment, ...over })); // plain objects
        const back = decodeRecord(
          TABLES.attachments,
          [a.containerId, a.ifname],
          encodeRecord(TABLES.attachments, a).data,
          'test',
        );
        assert.deepEqual(back, a);
      },
    ),
    { numRuns: 200 },
  );
});

test('writing an invalid record fails with InputError naming the record and the field, not the secret', () => {
  assert.throws(
    () => encodeRecord(TABLES.attachments, { ...attachment, mac: 'zz', mtu: 10 }),
    (e: unknown) =>
      e instanceof InputError &&
      /attachment "abc123\/eth0"/.test(e.message) &&
      /mac/.test(e.message) &&
      /mtu/.test(e.message),
  );
  assert.throws(
    () =>
      encodeRecord(TABLES.clusters, {
        ...cluster,
        credentials: { ...cluster.credentials, projectName: '' },
      } as Cluster),
    (e: unknown) =>
      e instanceof InputError && /credentials\.projectName/.test(e.message) && !e.message.includes(SECRET),
  );
});

test("a VM node's port record keeps its subport; a VLAN ID out of 1..4094 reads as corrupt, naming the field", () => {
  const vmNode: NodeRecord = {
    cluster: 'c1',
    name: 'vm1',
    ports: [
      {
        networkId: 'net-1',
        portId: 'port-1',
        device: 'nnh0a1b2c3d4e5f',
        mac: 'fa:16:3e:aa:bb:01',
        mtu: 1442,
        ips: [{ address: '1.2.0.9', prefixLength: 16 }],
        routes: [],
        subport: { trunkId: 'trunk-1', vlan: 4094 },
      },
    ],
    createdAt: at,
    updatedAt: at,
  };
  const { data } = encodeRecord(TABLES.nodes, vmNode);
  assert.deepEqual(decodeRecord(TABLES.nodes, ['c1', 'vm1'], data, 'etcd'), vmNode);
  const bad = JSON.stringify({
    ...vmNode,
    ports: [{ ...vmNode.ports[0], subport: { trunkId: 'trunk-1', vlan: 4095 } }],
  });
  assert.throws(
    () => decodeRecord(TABLES.nodes, ['c1', 'vm1'], bad, 'etcd'),
    corruptWith('ports.0.subport.vlan'),
  );
});

test('text that is not JSON reads as corrupt, naming the key and not quoting the text', () => {
  assert.throws(
    () => decodeRecord(TABLES.clusters, ['c1'], `{"password":"${SECRET}"`, 'sqlite:/x.db'),
    corruptWith('sqlite:/x.db', 'cluster "c1"', 'not valid JSON'),
  );
});

test('a row with a wrong field reads as corrupt, naming the key and the field', () => {
  const bad = JSON.stringify({ ...cluster, credentials: { type: 'token', password: SECRET } });
  assert.throws(
    () => decodeRecord(TABLES.clusters, ['c1'], bad, 'etcd'),
    corruptWith('cluster "c1"', 'credentials'),
  );
  const bad2 = JSON.stringify({ ...attachment, ips: [{ address: '1.2.3.400', prefixLength: 16 }] });
  assert.throws(
    () => decodeRecord(TABLES.attachments, ['abc123', 'eth0'], bad2, 'etcd'),
    corruptWith('attachment "abc123/eth0"', 'ips.0.address'),
  );
  assert.throws(() => decodeRecord(TABLES.clusters, ['c1'], 'null', 'etcd'), corruptWith('cluster "c1"'));
});

test('a row whose record names another key reads as corrupt', () => {
  const data = encodeRecord(TABLES.attachments, attachment).data;
  assert.throws(
    () => decodeRecord(TABLES.attachments, ['abc123', 'net1'], data, 'etcd'),
    corruptWith('attachment "abc123/net1"', 'abc123/eth0'),
  );
});

test('records of older shapes are read in the current shape (upgrade on read)', () => {
  const { routes: _, ...oldAttachment } = attachment;
  const upgraded = decodeRecord(TABLES.attachments, ['abc123', 'eth0'], JSON.stringify(oldAttachment), 'x');
  assert.deepEqual(
    upgraded.routes,
    [{ dst: '0.0.0.0/0', gateway: '1.2.0.1' }],
    'the route the old ADD installed',
  );
  const oldConfig = {
    cluster: 'c1',
    namespace: 'default',
    pod: 'web-0',
    networkId: 'net-1',
    subnetId: 'sub-1',
    ip: '1.2.0.100',
    reservedPortId: 'port-1',
    createdAt: at,
    updatedAt: at,
  };
  const config = decodeRecord(TABLES.podConfigs, ['c1', 'default', 'web-0'], JSON.stringify(oldConfig), 'x');
  assert.deepEqual(config.nics, [
    {
      ifname: 'eth0',
      networkId: 'net-1',
      fixedIps: [{ subnetId: 'sub-1', ip: '1.2.0.100' }],
      reservedPortId: 'port-1',
    },
  ]);
  assert.ok(!('ip' in config), 'the old fields are gone');
});
