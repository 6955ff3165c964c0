import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { InputError } from '../errors/index.ts';
import { parseRowKey, prefixEnd, readSecretFile, rowKey, schemaKey } from './etcd.ts';
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

test('an etcd password file must be 0600 or stricter and one line; its content is never repeated', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nnt-etcd-secret-'));
  try {
    const file = join(dir, 'password');
    writeFileSync(file, 'hunter2-LE\n', { mode: 0o600 });
    assert.equal(readSecretFile(file, 'password'), 'hunter2-LE');
    chmodSync(file, 0o640);
    assert.throws(
      () => readSecretFile(file, 'password'),
      (e: unknown) =>
        e instanceof InputError &&
        /mode 0640/.test(e.message) &&
        /chmod 600/.test(e.message) &&
        !/hunter2/.test(e.message),
    );
    writeFileSync(join(dir, 'two'), 'a\nb\n', { mode: 0o600 });
    assert.throws(() => readSecretFile(join(dir, 'two'), 'password'), /one line/);
    assert.throws(() => readSecretFile(join(dir, 'missing'), 'password'), /cannot be read \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
