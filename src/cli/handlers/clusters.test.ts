import assert from 'node:assert/strict';
import { test } from 'node:test';
import { poolSettings } from './clusters.ts';

test('pool flags: what is not given keeps its value or takes its default; max 0 turns pools off', () => {
  assert.deepEqual(poolSettings(undefined, { min: 8 }), { min: 8, max: 16, batch: 8 });
  assert.deepEqual(poolSettings(undefined, { min: 20 }), { min: 20, max: 40, batch: 16 });
  assert.deepEqual(poolSettings({ min: 4, max: 8, batch: 4 }, { batch: 2 }), { min: 4, max: 8, batch: 2 });
  assert.deepEqual(poolSettings({ min: 4, max: 8, batch: 4 }, { min: 6 }), { min: 6, max: 16, batch: 4 });
  assert.equal(poolSettings({ min: 4, max: 8, batch: 4 }, { max: 0 }), undefined);
  assert.throws(
    () => poolSettings({ min: 4, max: 8, batch: 4 }, { max: 2 }),
    /min \(4\) would be more than its max \(2\)/,
  );
});
