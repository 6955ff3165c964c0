/**
 * etcd-only behaviour of the store, against the test environment's etcd: the JSON gateway's
 * path, unreachable and stalled endpoints, the key layout, schema versions and migrations.
 * Keys live under a random /nnts-<rand>/ prefix that is deleted afterwards.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { StoreError } from '../../src/errors/index.ts';
import { ETCD_MIGRATIONS, type EtcdMigration, openEtcd } from '../../src/store/etcd.ts';
import { openStore } from '../../src/store/index.ts';
import { ensureEnv, PROJECT_ROOT } from '../support/env.ts';

const env = ensureEnv();
const root = `/nnts-${randomBytes(4).toString('hex')}`;
let n = 0;
const freshPrefix = () => `${root}/t${++n}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

async function etcd(path: string, body: object): Promise<Record<string, unknown>> {
  const res = await fetch(`${env.etcdUrl}/v3/${path}`, { method: 'POST', body: JSON.stringify(body) });
  assert.ok(res.ok, `etcd ${path}: HTTP ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}
async function rawGet(key: string): Promise<{ value: string; version: string } | undefined> {
  const body = await etcd('kv/range', { key: b64(key) });
  const kv = (body.kvs as { value?: string; version: string }[] | undefined)?.[0];
  return kv && { value: unb64(kv.value), version: kv.version };
}
const rawPut = (key: string, value: string) => etcd('kv/put', { key: b64(key), value: b64(value) });

after(() => etcd('kv/deleterange', { key: b64(`${root}/`), range_end: b64(`${root}0`) }));

const servers: (Server | ReturnType<typeof createTcpServer>)[] = [];
after(() => {
  for (const s of servers) {
    s.close();
    if ('closeAllConnections' in s) s.closeAllConnections();
  }
});
function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<string> {
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address() as { port: number };
      resolve(`http://127.0.0.1:${addr.port}`);
    }),
  );
}
/** A port with nothing listening on it. */
async function deadEndpoint(): Promise<string> {
  const s = createTcpServer();
  const url = await listen(s);
  await new Promise((r) => s.close(r));
  return url;
}

const storeError =
  (reason: string, ...mentions: string[]) =>
  (e: unknown) => {
    assert.ok(e instanceof StoreError, `expected a StoreError, got ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `"${e.message}" should mention ${m}`);
    return true;
  };

const cluster = (name: string) => ({
  name,
  authUrl: 'http://127.0.0.1:5000/v3',
  credentials: { type: 'application_credential' as const, id: 'ac', secret: 'not-logged' },
});

test("the test environment's etcd serves the v3 JSON gateway under /v3", async () => {
  const version = (await (await fetch(`${env.etcdUrl}/version`)).json()) as { etcdserver: string };
  assert.match(version.etcdserver, /^3\.\d+\./);
  const res = await fetch(`${env.etcdUrl}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: b64(root) }),
  });
  assert.equal(res.status, 200);
});

test('records are stored as JSON under <prefix>/<table>/<key parts>, with the schema version at <prefix>/schema', async () => {
  const prefix = freshPrefix();
  const store = await openStore(`etcd:${env.etcdUrl}?prefix=${prefix}`);
  try {
    const c = await store.clusters.put(cluster('c/1'));
    const p = await store.podConfigs.create({
      cluster: 'c1',
      namespace: 'default',
      pod: 'web-0',
      nics: [{ ifname: 'eth0', networkId: 'net-1', fixedIps: [{ subnetId: 'sub-1', ip: '1.2.0.9' }] }],
    });
    assert.equal((await rawGet(`${prefix}/schema`))?.value, String(ETCD_MIGRATIONS.length));
    assert.deepEqual(JSON.parse((await rawGet(`${prefix}/clusters/c%2F1`))!.value), c);
    assert.deepEqual(JSON.parse((await rawGet(`${prefix}/pod_configs/c1/default/web-0`))!.value), p);
  } finally {
    await store.close();
  }
});

test('an unreachable etcd fails fast with StoreError unavailable naming the endpoint', async () => {
  const dead = await deadEndpoint();
  const t0 = Date.now();
  await assert.rejects(
    openStore(`etcd:${dead}?prefix=${freshPrefix()}`),
    storeError('unavailable', dead, 'connection refused'),
  );
  assert.ok(Date.now() - t0 < 1500);
});

test('with a dead first endpoint, the store uses the next one', async () => {
  const dead = await deadEndpoint();
  const store = await openStore(`etcd:${dead},${env.etcdUrl}?prefix=${freshPrefix()}`);
  try {
    await store.clusters.put(cluster('c1'));
    assert.equal((await store.clusters.get('c1'))?.name, 'c1');
  } finally {
    await store.close();
  }
});

test('an endpoint that accepts connections but never answers times out, and the next one serves', async () => {
  const held = new Set<Socket>();
  const silent = createTcpServer((socket) => {
    held.add(socket);
    socket.on('close', () => held.delete(socket));
  });
  const stalled = await listen(silent);
  try {
    const url = `etcd:${stalled},${env.etcdUrl}?prefix=${freshPrefix()}`;
    const t0 = Date.now();
    const store = await openStore(url, { timeoutMs: 300 });
    try {
      assert.ok(Date.now() - t0 >= 300, 'it waited for the stalled endpoint first');
      await store.clusters.put(cluster('c1'));
      assert.equal((await store.clusters.list()).length, 1);
    } finally {
      await store.close();
    }
    await assert.rejects(
      openStore(`etcd:${stalled}?prefix=${freshPrefix()}`, { timeoutMs: 300 }),
      storeError('unavailable', stalled, 'no answer within 300 ms'),
    );
  } finally {
    silent.close();
    for (const s of held) s.destroy();
  }
});

test('an etcd that serves the gateway only under /v3beta (etcd 3.3) is used through /v3beta', async () => {
  const seen: string[] = [];
  // Forwards /v3beta/* to the real etcd (3.4 serves both paths) and answers /v3/* with 404, as 3.3 does.
  const proxy = createHttpServer(async (req, res) => {
    seen.push(req.url ?? '');
    if (!req.url?.startsWith('/v3beta/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const upstream = await fetch(`${env.etcdUrl}${req.url}`, { method: 'POST', body: Buffer.concat(chunks) });
    res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
  });
  const endpoint = await listen(proxy);
  const store = await openStore(`etcd:${endpoint}?prefix=${freshPrefix()}`);
  try {
    await store.clusters.put(cluster('c1'));
    assert.equal((await store.clusters.get('c1'))?.name, 'c1');
  } finally {
    await store.close();
  }
  assert.equal(seen.filter((u) => u.startsWith('/v3/')).length, 1, 'it tried /v3 once, then remembered');
  assert.ok(seen.filter((u) => u.startsWith('/v3beta/')).length >= 4);
});

test('a store whose schema key is newer than this code, or not a number, is refused', async () => {
  const prefix = freshPrefix();
  await rawPut(`${prefix}/schema`, '99');
  await assert.rejects(
    openStore(`etcd:${env.etcdUrl}?prefix=${prefix}`),
    storeError('corrupt', prefix, 'schema version 99', 'newer'),
  );
  assert.equal((await rawGet(`${prefix}/schema`))?.value, '99');
  await rawPut(`${prefix}/schema`, 'banana');
  await assert.rejects(
    openStore(`etcd:${env.etcdUrl}?prefix=${prefix}`),
    storeError('corrupt', `${prefix}/schema`),
  );
});

test('an older store is migrated once under a txn even when many openers race', async () => {
  const prefix = freshPrefix();
  const v1 = await openStore(`etcd:${env.etcdUrl}?prefix=${prefix}`);
  await v1.clusters.put(cluster('c1'));
  await v1.close();
  let planned = 0;
  const v2: EtcdMigration = {
    version: ETCD_MIGRATIONS.length + 1,
    description: 'test: add a marker',
    async plan(_gateway, p) {
      planned++;
      return [{ put: `${p}/marker`, value: 'migrated' }];
    },
  };
  const migrations = [...ETCD_MIGRATIONS, v2];
  const opened = await Promise.all(
    Array.from({ length: 6 }, () => openEtcd([env.etcdUrl], prefix, { migrations })),
  );
  await Promise.all(opened.map((b) => b.close()));
  assert.equal((await rawGet(`${prefix}/schema`))?.value, String(v2.version));
  const marker = await rawGet(`${prefix}/marker`);
  assert.equal(marker?.value, 'migrated');
  assert.equal(marker?.version, '1', `the migration's writes landed exactly once (planned ${planned} times)`);
  // Data from before the migration is still there, and the current code refuses the newer store.
  assert.ok(await rawGet(`${prefix}/clusters/c1`));
  await assert.rejects(openStore(`etcd:${env.etcdUrl}?prefix=${prefix}`), storeError('corrupt', 'newer'));
});

test('an etcd store never loads the native SQLite addon (a SQLite one does)', async () => {
  // A fresh process opens a store and reports whether better-sqlite3's .node file is mapped.
  const probe = `
    const { openStore } = await import(${JSON.stringify(join(PROJECT_ROOT, 'src/store/index.ts'))});
    const { readFileSync } = await import('node:fs');
    const store = await openStore(process.env.NNTS_URL);
    await store.clusters.list();
    await store.close();
    process.stdout.write(String(readFileSync('/proc/self/maps', 'utf8').includes('better_sqlite3.node')));`;
  const run = async (url: string) =>
    (
      await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, NNTS_URL: url },
      })
    ).stdout;
  const dir = mkdtempSync(join(tmpdir(), 'nnts-'));
  try {
    assert.equal(await run(`etcd:${env.etcdUrl}?prefix=${freshPrefix()}`), 'false');
    assert.equal(await run(`sqlite:${join(dir, 'nnet.db')}`), 'true');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
