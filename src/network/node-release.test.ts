import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeLost } from './node-release.ts';

const at = (iso: string) => Date.parse(iso);
const port = (status: string, updatedAt: string) => ({ status, updatedAt });

test('a silent node is lost only when none of its ports is up and none changed within the silence', () => {
  const since = at('2026-12-03T10:00:00Z');
  assert.equal(nodeLost([], since), true, 'no ports at all');
  assert.equal(nodeLost([port('DOWN', '2026-12-03T09:59:00Z')], since), true, 'down, and quiet since before');
  assert.equal(nodeLost([port('ACTIVE', '2026-12-03T09:00:00Z')], since), false, 'a port still up');
  assert.equal(
    nodeLost([port('DOWN', '2026-12-03T09:59:00Z'), port('DOWN', '2026-12-03T10:00:03Z')], since),
    false,
    'a port its ADD bound a moment ago, not ACTIVE yet: the node is alive',
  );
  assert.equal(nodeLost([port('DOWN', '')], since), true, 'no update time: only the status counts');
});
