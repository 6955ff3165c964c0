/**
 * The SQLite backend: one file per node, shared by every `nnet` process on it. WAL lets readers
 * run beside the one writer; writers wait for SQLite's lock for up to the busy timeout. Each
 * table has its key fields and index fields as columns and the whole record as JSON in `data`.
 *
 * better-sqlite3 is synchronous, and SQLite's own busy handler sleeps inside the call: in the
 * agent one locked write would stop every other request (OVSDB replies, Neutron calls) for the
 * whole busy timeout. So SQLite's handler is off and the wait is ours, between event-loop turns.
 */
import { closeSync, constants, fchmodSync, fstatSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import { StoreError } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import type { Backend, Row, RowFilter, RowWrite } from './backend.ts';
import { describeKey } from './codec.ts';
import { latestVersion, pendingMigrations, type Versioned } from './migrate.ts';
import type { AnyTable } from './types.ts';

export interface SqliteMigration extends Versioned {
  sql: string;
}

/** Released migrations: append only, never edit. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    description: 'clusters, managed resources, pod network configs, attachments',
    sql: `
      CREATE TABLE clusters (name TEXT NOT NULL PRIMARY KEY, data TEXT NOT NULL) STRICT;
      CREATE TABLE resources (
        kind TEXT NOT NULL, id TEXT NOT NULL, cluster TEXT, data TEXT NOT NULL,
        PRIMARY KEY (kind, id)) STRICT;
      CREATE INDEX resources_by_cluster ON resources (cluster);
      CREATE TABLE pod_configs (
        cluster TEXT NOT NULL, namespace TEXT NOT NULL, pod TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (cluster, namespace, pod)) STRICT;
      CREATE TABLE attachments (
        container_id TEXT NOT NULL, ifname TEXT NOT NULL, node TEXT, cluster TEXT, data TEXT NOT NULL,
        PRIMARY KEY (container_id, ifname)) STRICT;
      CREATE INDEX attachments_by_node ON attachments (node);
      CREATE INDEX attachments_by_cluster ON attachments (cluster);`,
  },
  {
    version: 2,
    description: "nodes: each node's own ports on the pod networks",
    sql: `
      CREATE TABLE nodes (
        cluster TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (cluster, name)) STRICT;`,
  },
];

export interface SqliteOptions {
  /** How long a writer waits for another process's lock before giving up. */
  busyTimeoutMs?: number;
  logger?: Logger | undefined;
  /** For tests of the migration machinery. */
  migrations?: readonly SqliteMigration[];
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

const column = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export async function openSqlite(path: string, options: SqliteOptions = {}): Promise<Backend> {
  const location = `sqlite:${path}`;
  const busyMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const fail = (e: unknown, doing: string) => sqliteFailure(e, location, path, busyMs, doing);
  /** Runs one synchronous step, trying again while another process holds the lock. */
  const whileLocked = async <T>(step: () => T, doing: string): Promise<T> => {
    const deadline = Date.now() + busyMs;
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      try {
        return step();
      } catch (e) {
        const left = deadline - Date.now();
        if (!isBusy(e) || left <= 0) throw fail(e, doing);
        await sleep(Math.min(pause, left));
      }
    }
  };
  prepareFile(path, location);

  let Database: typeof BetterSqlite3;
  try {
    Database = (await import('better-sqlite3')).default;
  } catch (e) {
    throw new StoreError('unavailable', `store ${location}: cannot load better-sqlite3`, { cause: e });
  }
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new Database(path, { timeout: 0 });
    const opened = db;
    await whileLocked(() => opened.pragma('journal_mode = WAL'), 'opening the database');
    await whileLocked(
      () => migrateSqlite(opened, options.migrations ?? SQLITE_MIGRATIONS, location, options.logger),
      'opening the database',
    );
  } catch (e) {
    db?.close();
    throw fail(e, 'opening the database');
  }
  const conn = db;

  const statements = new Map<string, BetterSqlite3.Statement>();
  const prepare = (sql: string) => {
    let s = statements.get(sql);
    if (!s) {
      s = conn.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
  const keyWhere = (t: AnyTable) => t.keyFields.map((f) => `${column(f)} = ?`).join(' AND ');
  const readRow = (t: AnyTable, key: string[]): string | undefined =>
    prepare(`SELECT data FROM ${t.name} WHERE ${keyWhere(t)}`)
      .pluck()
      .get(...key) as string | undefined;
  const columns = (t: AnyTable) => [...t.keyFields, ...t.indexFields].map(column);
  const insertSql = (t: AnyTable) =>
    `INSERT INTO ${t.name} (${columns(t).join(', ')}, data) VALUES (${columns(t)
      .map(() => '?')
      .join(', ')}, ?)`;
  const writeValues = (key: string[], row: RowWrite) => [...key, ...row.index, row.data];

  return {
    location,
    async get(t, key) {
      return whileLocked(() => readRow(t, key), `reading ${describeKey(t, key)}`);
    },
    async list(t, filter: RowFilter): Promise<Row[]> {
      const fields = Object.keys(filter);
      const where = fields.length ? ` WHERE ${fields.map((f) => `${column(f)} = ?`).join(' AND ')}` : '';
      const keyCols = t.keyFields.map(column).join(', ');
      const rows = await whileLocked(
        () =>
          prepare(`SELECT ${keyCols}, data FROM ${t.name}${where} ORDER BY ${keyCols}`)
            .raw()
            .all(...fields.map((f) => filter[f])) as string[][],
        `listing ${t.name}`,
      );
      return rows.map((r) => ({ key: r.slice(0, -1), data: r.at(-1)! }));
    },
    async insert(t, key, row) {
      await whileLocked(
        () => {
          try {
            prepare(insertSql(t)).run(...writeValues(key, row));
          } catch (e) {
            if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
              throw new StoreError('conflict', `store ${location}: ${describeKey(t, key)} already exists`);
            throw e;
          }
        },
        `creating ${describeKey(t, key)}`,
      );
    },
    async update(t, key, fn) {
      const upsert = `${insertSql(t)} ON CONFLICT DO UPDATE SET ${[...t.indexFields.map(column), 'data']
        .map((c) => `${c} = excluded.${c}`)
        .join(', ')}`;
      // IMMEDIATE takes the write lock up front, before fn runs: fn sees the row it replaces,
      // and a busy lock fails the whole step (to be tried again) rather than half of it.
      return whileLocked(
        () =>
          conn
            .transaction(() => {
              const current = readRow(t, key);
              const row = fn(current);
              if (!row) return current;
              prepare(upsert).run(...writeValues(key, row));
              return row.data;
            })
            .immediate(),
        `updating ${describeKey(t, key)}`,
      );
    },
    async delete(t, key) {
      return whileLocked(
        () => prepare(`DELETE FROM ${t.name} WHERE ${keyWhere(t)}`).run(...key).changes > 0,
        `deleting ${describeKey(t, key)}`,
      );
    },
    async close() {
      conn.close();
    },
  };
}

/**
 * Brings the database to the newest schema in one IMMEDIATE transaction (DDL is transactional
 * in SQLite), re-reading the version under the lock: when several processes open a new file at
 * once, one migrates and the others find the work done.
 */
export function migrateSqlite(
  db: BetterSqlite3.Database,
  migrations: readonly SqliteMigration[],
  location: string,
  logger?: Logger,
): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  if (pendingMigrations(version(), migrations, location).length === 0) return;
  db.transaction(() => {
    const from = version();
    for (const m of pendingMigrations(from, migrations, location)) {
      try {
        db.exec(m.sql);
      } catch (e) {
        if (isBusy(e)) throw e;
        throw new StoreError(
          'corrupt',
          `store ${location}: migration to schema version ${m.version} (${m.description}) failed: ${(e as Error).message}`,
          { cause: e },
        );
      }
    }
    const to = latestVersion(migrations);
    db.pragma(`user_version = ${to}`);
    logger?.info('store schema migrated', { store: location, from, to });
  }).immediate();
}

function prepareFile(path: string, location: string): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new StoreError('unavailable', `store ${location}: cannot create directory ${dir}: ${errno(e)}`, {
      cause: e,
    });
  }
  // Create the file ourselves: SQLite would create it world-readable, and it holds Keystone
  // secrets. Its -wal and -shm files take the database file's mode.
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  } catch (e) {
    throw new StoreError('unavailable', `store ${location}: cannot open ${path}: ${errno(e)}`, { cause: e });
  }
  try {
    if ((fstatSync(fd).mode & 0o077) !== 0) fchmodSync(fd, 0o600);
  } catch {
    // Not our file to tighten (another owner): SQLite will still use it.
  } finally {
    closeSync(fd);
  }
}

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** Maps a SqliteError to a StoreError; anything else passes through unchanged. */
function sqliteFailure(e: unknown, location: string, path: string, busyMs: number, doing: string): unknown {
  const code = (e as { code?: unknown }).code;
  if (e instanceof StoreError || typeof code !== 'string' || !code.startsWith('SQLITE_')) return e;
  if (isBusy(e))
    return new StoreError(
      'unavailable',
      `store ${location}: the database stayed locked by another process for more than ${busyMs} ms while ${doing}`,
      { cause: e },
    );
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'))
    return new StoreError(
      'corrupt',
      `store ${location}: ${path} is not a SQLite database or is damaged (${code}) while ${doing}; ` +
        'move it aside to start an empty store',
      { cause: e },
    );
  return new StoreError(
    'unavailable',
    `store ${location}: ${doing} failed: ${(e as Error).message} (${code})`,
    {
      cause: e,
    },
  );
}
