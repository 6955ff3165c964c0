/**
 * The store's behaviour, run once against SQLite and once against the test environment's etcd.
 * SQLite files live in mkdtemp dirs named nnts-*; etcd keys under a random /nnts-<rand>/ prefix
 * that is deleted afterwards.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { StoreError } from '../../src/errors/index.ts';
import {
  type AttachmentInput,
  type ClusterInput,
  openStore,
  type PodNicConfig,
  type Store,
} from '../../src/store/index.ts';
import { ensureEnv, PROJECT_ROOT } from '../support/env.ts';

interface Harness {
  name: string;
  /** A URL for a new, empty store. */
  freshUrl(): string;
  /** Writes `data` as the raw row of `table` under `key`, bypassing validation. */
  writeRaw(url: string, table: 'clusters' | 'attachments', key: string[], data: string): Promise<void>;
  cleanup(): Promise<void>;
}

const SECRET = `s3cret-${randomBytes(6).toString('hex')}`;

const cluster = (name: string): ClusterInput => ({
  name,
  authUrl: 'http://127.0.0.1:5000/v3',
  region: 'RegionOne',
  credentials: {
    type: 'password',
    username: 'nnet',
    userDomain: 'Default',
    password: SECRET,
    projectName: 'k8s',
    projectDomain: 'Default',
  },
});

const nic = (o: { ip?: string }): PodNicConfig => ({
  ifname: 'eth0',
  networkId: 'net-1',
  fixedIps: [{ subnetId: 'sub-1', ...(o.ip ? { ip: o.ip } : {}) }],
});

const attachment = (containerId: string, over: Partial<AttachmentInput> = {}): AttachmentInput => ({
  containerId,
  ifname: 'eth0',
  cluster: 'c1',
  namespace: 'default',
  pod: `pod-${containerId}`,
  podUid: '6a1f2c9e-0000-4000-8000-000000000001',
  netns: `/var/run/netns/cni-${containerId}`,
  node: 'node1',
  portId: `port-${containerId}`,
  portCreatedByAdd: true,
  ips: [{ address: '1.2.0.100', prefixLength: 16, gateway: '1.2.0.1' }],
  routes: [{ dst: '0.0.0.0/0', gateway: '1.2.0.1' }],
  mac: 'fa:16:3e:12:34:56',
  mtu: 1450,
  plugDriver: 'internal',
  ovsPort: `tap${containerId.slice(0, 11)}`,
  ...over,
});

async function withStore<T>(url: string, fn: (s: Store) => Promise<T>): Promise<T> {
  const s = await openStore(url);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

const isStoreError =
  (reason: string, ...mentions: string[]) =>
  (e: unknown) => {
    assert.ok(e instanceof StoreError, `expected a StoreError, got ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `"${e.message}" should mention ${m}`);
    assert.ok(!e.message.includes(SECRET), 'a secret reached an error message');
    return true;
  };

// One process of the concurrency test: opens the store, waits for "go" on stdin, then races the
// other workers. Prints one JSON line with what it saw.
const WORKER = `
const { openStore } = await import(process.env.NNTS_MODULE);
const env = process.env;
const store = await openStore(env.NNTS_URL);
process.stdout.write('ready\\n');
await new Promise((r) => process.stdin.once('data', r));
const base = JSON.parse(env.NNTS_BASE);
const out = { contested: 'won', created: 0, increments: 0 };
try {
  await store.attachments.create({ ...base, containerId: 'contested', pod: 'w' + env.NNTS_WORKER });
} catch (e) {
  out.contested = e.reason ?? String(e);
}
for (let i = 0; i < Number(env.NNTS_CREATES); i++) {
  await store.attachments.create({ ...base, containerId: 'w' + env.NNTS_WORKER + '-' + i });
  out.created++;
  if (i % 4 === 0) {
    // A counter kept in the NIC's reservedPortId: lost updates would show as a short count.
    await store.podConfigs.update({ cluster: 'c1', namespace: 'default', pod: 'counter' }, (cur) => ({
      ...cur, nics: [{ ...cur.nics[0], reservedPortId: String(Number(cur.nics[0].reservedPortId) + 1) }],
    }));
    out.increments++;
  }
}
await store.close();
process.stdout.write(JSON.stringify(out) + '\\n');
`;

function startWorker(url: string, index: number, creates: number): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', WORKER], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      NNTS_MODULE: join(PROJECT_ROOT, 'src/store/index.ts'),
      NNTS_URL: url,
      NNTS_WORKER: String(index),
      NNTS_CREATES: String(creates),
      NNTS_BASE: JSON.stringify(attachment('base', { node: `node${index % 3}` })),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

function lines(child: ChildProcess): { next(): Promise<string>; stderr(): string } {
  let buf = '';
  let err = '';
  const waiting: ((l: string) => void)[] = [];
  const ready: string[] = [];
  child.stdout!.on('data', (d) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiting.shift();
      if (w) w(line);
      else ready.push(line);
    }
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<string>((_, reject) =>
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) early: ${err}`))),
  );
  return {
    next: () => {
      const l = ready.shift();
      if (l !== undefined) return Promise.resolve(l);
      return Promise.race([new Promise<string>((r) => waiting.push(r)), exited]);
    },
    stderr: () => err,
  };
}

function storeSuite(h: Harness): void {
  describe(`store on ${h.name}`, () => {
    after(() => h.cleanup());

    test('a cluster round-trips with its credentials, and a second put keeps its first createdAt', async () => {
      await withStore(h.freshUrl(), async (s) => {
        const first = await s.clusters.put(cluster('c1'));
        assert.deepEqual(await s.clusters.get('c1'), first);
        await new Promise((r) => setTimeout(r, 5));
        const second = await s.clusters.put({
          ...cluster('c1'),
          region: 'RegionTwo',
          defaultNetworkId: 'net-1',
        });
        assert.equal(second.createdAt, first.createdAt);
        assert.equal(second.region, 'RegionTwo');
        await s.clusters.put({
          name: 'c2',
          authUrl: 'https://keystone.example:5000/v3',
          credentials: { type: 'application_credential', id: 'ac-1', secret: SECRET },
        });
        assert.deepEqual(
          (await s.clusters.list()).map((c) => [c.name, c.credentials.type]),
          [
            ['c1', 'password'],
            ['c2', 'application_credential'],
          ],
        );
        assert.equal(await s.clusters.delete('c1'), true);
        assert.equal(await s.clusters.get('c1'), undefined);
        assert.equal(await s.clusters.delete('c1'), false);
      });
    });

    test('a record that fails validation is refused before it is written', async () => {
      await withStore(h.freshUrl(), async (s) => {
        await assert.rejects(s.attachments.create(attachment('bad', { mac: 'not-a-mac' })), /mac/);
        await assert.rejects(
          s.clusters.put({ ...cluster('c1'), authUrl: 'ftp://nowhere' }),
          (e: Error) => /authUrl/.test(e.message) && !e.message.includes(SECRET),
        );
        assert.deepEqual(await s.attachments.list(), []);
        assert.deepEqual(await s.clusters.list(), []);
      });
    });

    test('managed resources are listed by kind, by cluster, or both', async () => {
      await withStore(h.freshUrl(), async (s) => {
        await s.resources.put({ kind: 'network', id: 'n1', name: 'pods', cluster: 'c1' });
        await s.resources.put({
          kind: 'subnet',
          id: 's1',
          name: 'pods-v4',
          cluster: 'c1',
          cidr: '1.2.0.0/16',
          networkId: 'n1',
        });
        await s.resources.put({
          kind: 'subnet',
          id: 's2',
          name: '',
          cluster: 'c2',
          cidr: 'fd00::/64',
          networkId: 'n2',
        });
        await s.resources.put({ kind: 'router', id: 'r1', name: 'edge', cluster: 'c2' });
        const ids = (rs: { id: string }[]) => rs.map((r) => r.id);
        assert.deepEqual(ids(await s.resources.list()), ['n1', 'r1', 's1', 's2']);
        assert.deepEqual(ids(await s.resources.list({ kind: 'subnet' })), ['s1', 's2']);
        assert.deepEqual(ids(await s.resources.list({ cluster: 'c2' })), ['r1', 's2']);
        assert.deepEqual(ids(await s.resources.list({ kind: 'subnet', cluster: 'c1' })), ['s1']);
        assert.equal((await s.resources.get({ kind: 'subnet', id: 's1' }))?.cidr, '1.2.0.0/16');
        assert.equal(await s.resources.delete({ kind: 'subnet', id: 's1' }), true);
        assert.equal(await s.resources.delete({ kind: 'subnet', id: 's1' }), false);
        assert.deepEqual(ids(await s.resources.list({ kind: 'subnet' })), ['s2']);
      });
    });

    test('creating a pod config that exists fails with conflict and keeps the first one', async () => {
      await withStore(h.freshUrl(), async (s) => {
        const key = { cluster: 'c1', namespace: 'default', pod: 'pod1' };
        const first = await s.podConfigs.create({ ...key, nics: [nic({ ip: '1.2.0.100' })] });
        assert.equal(first.createdAt, first.updatedAt);
        await assert.rejects(
          s.podConfigs.create({ ...key, nics: [nic({ ip: '1.2.0.101' })] }),
          isStoreError('conflict', 'pod network config "c1/default/pod1"'),
        );
        assert.equal((await s.podConfigs.get(key))?.nics[0]?.fixedIps[0]?.ip, '1.2.0.100');
        await new Promise((r) => setTimeout(r, 5));
        const replaced = await s.podConfigs.put({ ...key, nics: [{ ...nic({}), mac: 'fa:16:3e:00:00:02' }] });
        assert.equal(replaced.createdAt, first.createdAt);
        assert.notEqual(replaced.updatedAt, first.updatedAt);
        assert.equal(replaced.nics[0]?.fixedIps[0]?.ip, undefined, 'put replaces the whole record');
        await s.podConfigs.put({ cluster: 'c2', namespace: 'default', pod: 'pod1', nics: [nic({})] });
        await s.podConfigs.put({ cluster: 'c1', namespace: 'kube-system', pod: 'dns', nics: [nic({})] });
        const names = (cs: { cluster: string; namespace: string; pod: string }[]) =>
          cs.map((c) => `${c.cluster}/${c.namespace}/${c.pod}`);
        assert.deepEqual(names(await s.podConfigs.list({ cluster: 'c1' })), [
          'c1/default/pod1',
          'c1/kube-system/dns',
        ]);
        assert.equal((await s.podConfigs.list()).length, 3);
        assert.equal(await s.podConfigs.delete(key), true);
        assert.equal(await s.podConfigs.get(key), undefined);
        assert.equal(await s.podConfigs.delete(key), false);
      });
    });

    test('update reads, modifies and writes one record; undefined leaves it; the key cannot change', async () => {
      await withStore(h.freshUrl(), async (s) => {
        const key = { cluster: 'c1', namespace: 'default', pod: 'pod1' };
        assert.equal(await s.podConfigs.update(key, () => undefined), undefined);
        assert.equal(await s.podConfigs.get(key), undefined);
        const made = await s.podConfigs.update(key, (cur) => ({
          ...key,
          ...cur,
          nics: [nic({ ip: '1.2.0.7' })],
        }));
        assert.equal(made?.nics[0]?.fixedIps[0]?.ip, '1.2.0.7');
        const changed = await s.podConfigs.update(
          key,
          (cur) => cur && { ...cur, nics: [{ ...cur.nics[0]!, reservedPortId: 'port-9' }] },
        );
        assert.equal(changed?.nics[0]?.fixedIps[0]?.ip, '1.2.0.7');
        assert.equal(changed?.nics[0]?.reservedPortId, 'port-9');
        assert.equal(changed?.createdAt, made?.createdAt);
        assert.deepEqual(await s.podConfigs.update(key, () => undefined), changed);
        await assert.rejects(
          s.podConfigs.update(key, (cur) => cur && { ...cur, pod: 'other' }),
          /cannot change its key/,
        );
        assert.deepEqual(await s.podConfigs.get(key), changed);
      });
    });

    test('attachments: create is compare-and-swap, list filters by node and cluster, deleting a missing one succeeds', async () => {
      await withStore(h.freshUrl(), async (s) => {
        const a = await s.attachments.create(attachment('c0ffee01'));
        await s.attachments.create(attachment('c0ffee01', { ifname: 'net1', mac: 'fa:16:3e:00:00:09' }));
        await s.attachments.create(attachment('c0ffee02', { node: 'node2' }));
        await s.attachments.create(attachment('c0ffee03', { node: 'node2', cluster: 'c2' }));
        await assert.rejects(
          s.attachments.create(attachment('c0ffee01', { portId: 'another-port' })),
          isStoreError('conflict', 'attachment "c0ffee01/eth0"'),
        );
        assert.deepEqual(await s.attachments.get({ containerId: 'c0ffee01', ifname: 'eth0' }), a);
        const keys = (as: { containerId: string; ifname: string }[]) =>
          as.map((x) => `${x.containerId}/${x.ifname}`);
        assert.deepEqual(keys(await s.attachments.list({ node: 'node1' })), [
          'c0ffee01/eth0',
          'c0ffee01/net1',
        ]);
        assert.deepEqual(keys(await s.attachments.list({ node: 'node2', cluster: 'c1' })), ['c0ffee02/eth0']);
        assert.deepEqual(keys(await s.attachments.list({ cluster: 'c2' })), ['c0ffee03/eth0']);
        assert.equal((await s.attachments.list()).length, 4);
        assert.equal(await s.attachments.delete({ containerId: 'c0ffee01', ifname: 'eth0' }), true);
        assert.equal(await s.attachments.delete({ containerId: 'c0ffee01', ifname: 'eth0' }), false);
        assert.equal(await s.attachments.delete({ containerId: 'never-added', ifname: 'eth0' }), false);
        assert.equal(await s.attachments.get({ containerId: 'c0ffee01', ifname: 'eth0' }), undefined);
      });
    });

    test('keys with slashes, percent signs and unicode stay distinct and round-trip', async () => {
      await withStore(h.freshUrl(), async (s) => {
        for (const name of ['a/b', 'a', 'a%2Fb', 'ß/ü']) await s.clusters.put(cluster(name));
        assert.deepEqual((await s.clusters.list()).map((c) => c.name).sort(), ['a', 'a%2Fb', 'a/b', 'ß/ü']);
        assert.equal((await s.clusters.get('a/b'))?.name, 'a/b');
        assert.equal(await s.clusters.delete('a/b'), true);
        assert.equal((await s.clusters.get('a'))?.name, 'a');
      });
    });

    test('a row that does not validate reads back as StoreError corrupt naming its key, without its secret', async () => {
      const url = h.freshUrl();
      await withStore(url, async (s) => {
        await s.attachments.create(attachment('c0ffee01'));
        await s.clusters.put(cluster('c1'));
      });
      const bad = { ...cluster('c1'), credentials: { type: 'kerberos', password: SECRET }, createdAt: 'x' };
      await h.writeRaw(url, 'clusters', ['c1'], JSON.stringify(bad));
      await h.writeRaw(
        url,
        'attachments',
        ['c0ffee02', 'eth0'],
        `{"containerId": "c0ffee02", "secret": "${SECRET}"`,
      );
      await withStore(url, async (s) => {
        await assert.rejects(s.clusters.get('c1'), isStoreError('corrupt', 'cluster "c1"', 'credentials'));
        await assert.rejects(s.clusters.list(), isStoreError('corrupt', 'cluster "c1"'));
        await assert.rejects(
          s.attachments.get({ containerId: 'c0ffee02', ifname: 'eth0' }),
          isStoreError('corrupt', 'attachment "c0ffee02/eth0"', 'not valid JSON'),
        );
        await assert.rejects(s.attachments.list(), isStoreError('corrupt', 'attachment "c0ffee02/eth0"'));
        assert.equal(
          (await s.attachments.get({ containerId: 'c0ffee01', ifname: 'eth0' }))?.portId,
          'port-c0ffee01',
        );
        // The damaged row can still be removed.
        assert.equal(await s.attachments.delete({ containerId: 'c0ffee02', ifname: 'eth0' }), true);
        assert.equal((await s.attachments.list()).length, 1);
      });
      // A row whose record names another key is damage too.
      await h.writeRaw(
        url,
        'clusters',
        ['c1'],
        JSON.stringify({ ...cluster('c9'), createdAt: new Date().toISOString() }),
      );
      await withStore(url, (s) =>
        assert.rejects(s.clusters.get('c1'), isStoreError('corrupt', 'cluster "c1"', 'c9')),
      );
    });

    test('8 processes creating attachments at once: every row lands, one wins the contested key, no update is lost', {
      timeout: 120_000,
    }, async (t) => {
      const url = h.freshUrl();
      const workers = 8;
      const creates = 16;
      const children = Array.from({ length: workers }, (_, i) => startWorker(url, i, creates));
      t.after(() => {
        for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill();
      });
      const outs = children.map(lines);
      // Every worker opens the (new) store at the same time; then all start writing at once.
      const ready = await Promise.all(outs.map((o) => o.next()));
      assert.deepEqual(ready, Array(workers).fill('ready'));
      await withStore(url, (s) =>
        s.podConfigs.create({
          cluster: 'c1',
          namespace: 'default',
          pod: 'counter',
          nics: [{ ...nic({}), reservedPortId: '0' }],
        }),
      );
      for (const c of children) c.stdin!.end('go\n');
      const results = await Promise.all(
        outs.map(async (o) => {
          const line = await o.next();
          try {
            return JSON.parse(line) as { contested: string; created: number; increments: number };
          } catch {
            throw new Error(`worker said ${line}; stderr: ${o.stderr()}`);
          }
        }),
      );
      assert.deepEqual(results.map((r) => r.contested).sort(), [
        ...Array(workers - 1).fill('conflict'),
        'won',
      ]);
      assert.ok(results.every((r) => r.created === creates));
      await withStore(url, async (s) => {
        const all = await s.attachments.list({ cluster: 'c1' });
        assert.equal(all.length, workers * creates + 1);
        for (let w = 0; w < workers; w++)
          for (let i = 0; i < creates; i++)
            assert.ok(
              all.some((a) => a.containerId === `w${w}-${i}`),
              `row w${w}-${i} is missing`,
            );
        const winner = results.findIndex((r) => r.contested === 'won');
        assert.equal(
          (await s.attachments.get({ containerId: 'contested', ifname: 'eth0' }))?.pod,
          `w${winner}`,
        );
        const increments = results.reduce((n, r) => n + r.increments, 0);
        const counter = await s.podConfigs.get({ cluster: 'c1', namespace: 'default', pod: 'counter' });
        assert.equal(counter?.nics[0]?.reservedPortId, String(increments));
        assert.equal(
          (await s.attachments.list({ node: 'node1' })).length,
          all.filter((a) => a.node === 'node1').length,
        );
      });
    });
  });
}

// ---- SQLite ----------------------------------------------------------------------------------

const SQLITE_KEYS = { clusters: ['name'], attachments: ['container_id', 'ifname'] };

function sqliteHarness(): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'nnts-'));
  let n = 0;
  return {
    name: 'SQLite',
    freshUrl: () => `sqlite:${join(dir, `t${++n}`, 'nnet.db')}`,
    async writeRaw(url, table, key, data) {
      const db = new Database(url.slice('sqlite:'.length));
      try {
        const cols = SQLITE_KEYS[table];
        db.prepare(
          `INSERT OR REPLACE INTO ${table} (${cols.join(', ')}, data) VALUES (${cols.map(() => '?').join(', ')}, ?)`,
        ).run(...key, data);
      } finally {
        db.close();
      }
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- etcd ------------------------------------------------------------------------------------

async function etcd(path: string, body: object): Promise<unknown> {
  const res = await fetch(`${ensureEnv().etcdUrl}/v3/${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  assert.ok(res.ok, `etcd ${path}: HTTP ${res.status}`);
  return res.json();
}
const b64 = (s: string) => Buffer.from(s).toString('base64');

function etcdHarness(): Harness {
  const root = `/nnts-${randomBytes(4).toString('hex')}`;
  let n = 0;
  return {
    name: 'etcd',
    freshUrl: () => `etcd:${ensureEnv().etcdUrl}?prefix=${root}/t${++n}`,
    async writeRaw(url, table, key, data) {
      const prefix = new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('prefix')!;
      // The layout README.md documents: <prefix>/<table>/<key part>/… , parts percent-encoded.
      await etcd('kv/put', {
        key: b64([prefix, table, ...key.map(encodeURIComponent)].join('/')),
        value: b64(data),
      });
    },
    async cleanup() {
      // root + '/' … root + '0': every key under root/
      await etcd('kv/deleterange', { key: b64(`${root}/`), range_end: b64(`${root}0`) });
    },
  };
}

ensureEnv();
storeSuite(sqliteHarness());
storeSuite(etcdHarness());
