/**
 * SQLite-only behaviour of the store: file modes, locking, damaged and foreign files, schema
 * versions. Every file lives in a mkdtemp dir named nnts-*.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { StoreError } from '../../src/errors/index.ts';
import { openStore } from '../../src/store/index.ts';

const root = mkdtempSync(join(tmpdir(), 'nnts-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `t${++n}`);
const mode = (p: string) => statSync(p).mode & 0o777;

const storeError =
  (reason: string, ...mentions: string[]) =>
  (e: unknown) => {
    assert.ok(e instanceof StoreError, `expected a StoreError, got ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `"${e.message}" should mention ${m}`);
    return true;
  };

const attachment = (containerId: string) => ({
  containerId,
  ifname: 'eth0',
  cluster: 'c1',
  namespace: 'default',
  pod: 'p',
  netns: '/var/run/netns/x',
  node: 'node1',
  portId: 'port-1',
  portCreatedByAdd: false,
  ips: [{ address: '1.2.0.5', prefixLength: 16 }],
  routes: [],
  mac: 'fa:16:3e:00:00:01',
  mtu: 1500,
  plugDriver: 'internal',
  ovsPort: 'tap1',
});

test('a new store creates its missing directories 0700 and its database 0600, in WAL mode', async () => {
  const dir = freshDir();
  const path = join(dir, 'deeper', 'nnet.db');
  const store = await openStore(`sqlite:${path}`);
  try {
    await store.attachments.create(attachment('a1'));
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(join(dir, 'deeper')), 0o700);
    assert.equal(mode(path), 0o600);
    // The write-ahead log holds the same rows (and secrets) as the database.
    assert.equal(mode(`${path}-wal`), 0o600);
    const raw = new Database(path, { readonly: true });
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      raw.close();
    }
  } finally {
    await store.close();
  }
});

test('an existing world-readable database file is tightened to 0600', async () => {
  const dir = freshDir();
  mkdirSync(dir, { mode: 0o755 });
  const path = join(dir, 'nnet.db');
  writeFileSync(path, '');
  chmodSync(path, 0o644);
  const store = await openStore(`sqlite:${path}`);
  await store.close();
  assert.equal(mode(path), 0o600);
  assert.equal(mode(dir), 0o755, 'an existing directory is left as it is');
});

test('a database locked by another writer past the busy timeout fails with StoreError unavailable', async () => {
  const path = join(freshDir(), 'nnet.db');
  const store = await openStore(`sqlite:${path}`, { busyTimeoutMs: 300 });
  const other = new Database(path);
  try {
    other.exec('BEGIN EXCLUSIVE');
    const t0 = Date.now();
    await assert.rejects(
      store.attachments.create(attachment('a1')),
      storeError('unavailable', path, 'locked', '300 ms', 'attachment "a1/eth0"'),
    );
    assert.ok(Date.now() - t0 >= 250, 'it waited for the lock before giving up');
    other.exec('ROLLBACK');
    await store.attachments.create(attachment('a1'));
    assert.equal((await store.attachments.list()).length, 1);
  } finally {
    other.close();
    await store.close();
  }
});

test('a writer waiting for the lock leaves its process free: the holder in the same process lets go, and the write lands', async () => {
  // The agent serves many requests in one process; a wait inside SQLite's busy handler would stop
  // them all. Here the holder can only let go from a timer of this process while the write waits.
  const path = join(freshDir(), 'nnet.db');
  const store = await openStore(`sqlite:${path}`, { busyTimeoutMs: 120_000 });
  const other = new Database(path);
  try {
    other.exec('BEGIN EXCLUSIVE');
    let timerRan = false;
    setTimeout(() => {
      timerRan = true;
      other.exec('ROLLBACK');
    }, 200);
    await store.attachments.create(attachment('a2'));
    assert.ok(timerRan, 'the holder let go from this process while the write waited');
    assert.deepEqual(
      (await store.attachments.list()).map((a) => a.containerId),
      ['a2'],
    );
  } finally {
    other.close();
    await store.close();
  }
});

test('a file of random bytes fails with StoreError corrupt naming the file, and is left untouched', async () => {
  const dir = freshDir();
  mkdirSync(dir);
  const path = join(dir, 'nnet.db');
  const bytes = randomBytes(8192);
  writeFileSync(path, bytes, { mode: 0o600 });
  await assert.rejects(openStore(`sqlite:${path}`), storeError('corrupt', path, 'not a SQLite database'));
  assert.deepEqual(readFileSync(path), bytes);
});

test('a database written by a newer N-Net is refused with a StoreError that says so', async () => {
  const dir = freshDir();
  mkdirSync(dir);
  const path = join(dir, 'nnet.db');
  const raw = new Database(path);
  raw.pragma('user_version = 99');
  raw.close();
  await assert.rejects(
    openStore(`sqlite:${path}`),
    storeError('corrupt', path, 'schema version 99', 'newer'),
  );
  const again = new Database(path);
  assert.equal(again.pragma('user_version', { simple: true }), 99);
  again.close();
});

test('an empty database at schema version 0 is migrated to the current schema', async () => {
  const dir = freshDir();
  mkdirSync(dir);
  const path = join(dir, 'nnet.db');
  const raw = new Database(path);
  raw.exec('CREATE TABLE unrelated (x)'); // a real, older file: not just an empty one
  raw.close();
  const store = await openStore(`sqlite:${path}`);
  await store.attachments.create(attachment('a1'));
  await store.close();
  const check = new Database(path, { readonly: true });
  try {
    assert.ok((check.pragma('user_version', { simple: true }) as number) >= 1);
    const tables = check
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();
    assert.deepEqual(tables, ['attachments', 'clusters', 'nodes', 'pod_configs', 'resources', 'unrelated']);
  } finally {
    check.close();
  }
});

test('a database path whose parent is a file fails with StoreError unavailable naming it', async () => {
  const dir = freshDir();
  mkdirSync(dir);
  writeFileSync(join(dir, 'file'), 'x');
  const path = join(dir, 'file', 'nnet.db');
  await assert.rejects(openStore(`sqlite:${path}`), storeError('unavailable', join(dir, 'file')));
});
