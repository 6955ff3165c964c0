import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseRowKey, prefixEnd, rowKey, schemaKey } from './etcd.ts';
import { TABLES } from './types.ts';

test('row keys follow <prefix>/<table>/<key parts> with each part percent-encoded', () => {
  assert.equal(rowKey('/nnet', TABLES.attachments, ['abc', 'eth0']), '/nnet/attachments/abc/eth0');
  assert.equal(rowKey('/nnet', TABLES.podConfigs, ['c/1', 'ns', 'p']), '/nnet/pod_configs/c%2F1/ns/p');
  assert.equal(schemaKey('/nnet'), '/nnet/schema');
});

test('any key parts survive the trip through an etcd key, and keys of different parts differ', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => {
      const key = rowKey('/p', TABLES.attachments, [a, b]);
      assert.deepEqual(parseRowKey('/p', TABLES.attachments, key), [a, b]);
      assert.equal(parseRowKey('/p', TABLES.clusters, key), undefined);
    }),
  );
  assert.notEqual(rowKey('/p', TABLES.clusters, ['a/b']), rowKey('/p', TABLES.attachments, ['a', 'b']));
});

test('prefixEnd is the first key after every key with the prefix', () => {
  assert.equal(prefixEnd('/nnet/').toString(), '/nnet0');
  fc.assert(
    fc.property(fc.string(), fc.string(), (p, rest) => {
      const key = Buffer.from(p + rest);
      const end = prefixEnd(p);
      if (p.length > 0) assert.ok(Buffer.compare(key, end) < 0);
    }),
  );
});
