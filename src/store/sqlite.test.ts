import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { StoreError } from '../errors/index.ts';
import { migrateSqlite, openSqlite, SQLITE_MIGRATIONS, type SqliteMigration } from './sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'nnts-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `m${++n}.db`);

const v2: SqliteMigration = {
  version: SQLITE_MIGRATIONS.length + 1,
  description: 'test: notes',
  sql: 'CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT)',
};
const v3broken: SqliteMigration = {
  version: v2.version + 1,
  description: 'test: broken',
  sql: 'CREATE TABLE more (x); INSERT INTO no_such_table VALUES (1)',
};

function inspect<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}
const version = (db: Database.Database) => db.pragma('user_version', { simple: true });
const tables = (db: Database.Database) =>
  db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();

test('a new database gets every migration and records the last version in user_version', async () => {
  const path = freshPath();
  await (await openSqlite(path)).close();
  inspect(path, (db) => {
    assert.equal(version(db), SQLITE_MIGRATIONS.length);
    assert.deepEqual(tables(db), ['attachments', 'clusters', 'nodes', 'pod_configs', 'resources']);
  });
});

test('a database at an older version gets only the newer migrations and keeps its rows', async () => {
  const path = freshPath();
  const old = await openSqlite(path);
  await old.update(
    { name: 'clusters', noun: 'cluster', keyFields: ['name'], indexFields: [] } as never,
    ['c1'],
    () => ({ data: '{}', index: [] }),
  );
  await old.close();
  await (await openSqlite(path, { migrations: [...SQLITE_MIGRATIONS, v2] })).close();
  inspect(path, (db) => {
    assert.equal(version(db), v2.version);
    assert.ok(tables(db).includes('notes'));
    assert.equal(db.prepare('SELECT count(*) FROM clusters').pluck().get(), 1);
  });
});

test('a migration that fails leaves the database at its previous version with no partial change', async () => {
  const path = freshPath();
  await (await openSqlite(path, { migrations: [...SQLITE_MIGRATIONS, v2] })).close();
  await assert.rejects(
    openSqlite(path, { migrations: [...SQLITE_MIGRATIONS, v2, v3broken] }),
    (e: unknown) =>
      e instanceof StoreError &&
      e.reason === 'corrupt' &&
      e.message.includes(`migration to schema version ${v3broken.version} (test: broken) failed`),
  );
  inspect(path, (db) => {
    assert.equal(version(db), v2.version);
    assert.equal(tables(db).includes('more'), false);
  });
});

test('migrating a database that is already current takes no write lock', () => {
  const path = freshPath();
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    migrateSqlite(db, SQLITE_MIGRATIONS, 'test');
    const other = new Database(path);
    other.exec('BEGIN EXCLUSIVE');
    try {
      db.pragma('busy_timeout = 0');
      // Would throw SQLITE_BUSY if it tried to write.
      assert.doesNotThrow(() => migrateSqlite(db, SQLITE_MIGRATIONS, 'test'));
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  } finally {
    db.close();
  }
});
