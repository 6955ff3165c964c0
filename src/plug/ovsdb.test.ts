import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromMap, fromSet, fromUuid, JsonStreamSplitter, ovsMap } from './ovsdb.ts';

test('the JSON-RPC splitter returns each message once, however the stream is chunked', () => {
  const msgs = [
    { id: 1, result: [{ rows: [{ name: 'a{b}"c"', ids: ['map', [['k', 'v]']]] }] }], error: null },
    { method: 'echo', params: [], id: 'echo' },
    { method: 'update', params: ['m', { Interface: { u: { new: { name: '\\"}{' } } } }], id: null },
  ];
  const text = msgs.map((m) => JSON.stringify(m)).join('');
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 8 }), (cuts) => {
      const points = [...new Set([0, ...cuts, text.length])].sort((a, b) => a - b);
      const s = new JsonStreamSplitter();
      const out: unknown[] = [];
      for (let i = 1; i < points.length; i++)
        for (const m of s.push(text.slice(points[i - 1], points[i]))) out.push(JSON.parse(m));
      assert.deepEqual(out, msgs);
    }),
  );
});

test('the JSON-RPC splitter rejects garbage between messages', () => {
  assert.throws(() => new JsonStreamSplitter().push('{"a":1} x'), /unexpected/);
});

test('OVSDB maps, sets and uuids decode to plain values (a one-element set may come bare)', () => {
  assert.deepEqual(ovsMap({ b: '2', a: '1' }), [
    'map',
    [
      ['a', '1'],
      ['b', '2'],
    ],
  ]);
  assert.deepEqual(fromMap(['map', [['iface-id', 'x']]]), { 'iface-id': 'x' });
  assert.deepEqual(fromSet(['set', []]), []);
  assert.deepEqual(fromSet(5), [5]);
  assert.deepEqual(fromSet(['set', [1, 2]]), [1, 2]);
  assert.equal(fromUuid(['uuid', 'abc']), 'abc');
  assert.equal(fromUuid('abc'), undefined);
});
