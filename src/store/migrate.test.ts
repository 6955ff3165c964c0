import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreError } from '../errors/index.ts';
import { ETCD_MIGRATIONS } from './etcd.ts';
import { latestVersion, pendingMigrations } from './migrate.ts';
import { SQLITE_MIGRATIONS } from './sqlite.ts';

const list = [1, 2, 3].map((version) => ({ version, description: `m${version}` }));

test('a store at version N gets the migrations after N, in order', () => {
  assert.deepEqual(
    pendingMigrations(0, list, 'x').map((m) => m.version),
    [1, 2, 3],
  );
  assert.deepEqual(
    pendingMigrations(2, list, 'x').map((m) => m.version),
    [3],
  );
  assert.deepEqual(pendingMigrations(3, list, 'x'), []);
  assert.equal(latestVersion(list), 3);
  assert.equal(latestVersion([]), 0);
});

test('a store newer than the code is refused with a StoreError telling to upgrade', () => {
  assert.throws(
    () => pendingMigrations(4, list, 'sqlite:/a.db'),
    (e: unknown) =>
      e instanceof StoreError &&
      e.reason === 'corrupt' &&
      /sqlite:\/a\.db has schema version 4/.test(e.message) &&
      /upgrade/.test(e.message),
  );
});

test('a migration list with gaps or out of order is a programming error', () => {
  assert.throws(() => pendingMigrations(0, [list[0]!, list[2]!], 'x'), /out of order/);
});

test('both backends ship migrations numbered 1..N and agree on the schema version', () => {
  for (const ms of [SQLITE_MIGRATIONS, ETCD_MIGRATIONS])
    assert.deepEqual(
      ms.map((m) => m.version),
      ms.map((_, i) => i + 1),
    );
  assert.equal(latestVersion(SQLITE_MIGRATIONS), latestVersion(ETCD_MIGRATIONS));
});
