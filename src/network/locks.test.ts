import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAttachmentLocks } from './locks.ts';

test('commands of one NIC run one after the other; other NICs do not wait; a failure frees the lock', async () => {
  const locks = createAttachmentLocks();
  const log: string[] = [];
  const step =
    (name: string, ms: number, fail = false) =>
    async () => {
      log.push(`${name} start`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${name} end`);
      if (fail) throw new Error(name);
    };
  const a = { containerId: 'c1', ifname: 'eth0' };
  const add = locks.run(a, step('add', 30, true));
  const del = locks.run(a, step('del', 1));
  const other = locks.run({ containerId: 'c2', ifname: 'eth0' }, step('other', 1));
  assert.equal(locks.busy('c1'), true);
  await assert.rejects(add, /add/);
  await Promise.all([del, other]);
  assert.ok(log.indexOf('del start') > log.indexOf('add end'), log.join(', '));
  assert.ok(log.indexOf('other end') < log.indexOf('add end'), log.join(', '));
  assert.equal(locks.busy('c1'), false);
  assert.equal(locks.busy('c2'), false);
});
