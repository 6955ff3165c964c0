import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tagValue } from './tags.ts';

test('tag values fit Neutron tags (255) and stay distinct and stable for long names', () => {
  assert.equal(tagValue('web-0'), 'web-0');
  const long = `${'a'.repeat(250)}-1`;
  const other = `${'a'.repeat(250)}-2`;
  assert.ok(`nnet-pod=${tagValue(long)}`.length <= 255);
  assert.notEqual(tagValue(long), tagValue(other));
  assert.equal(tagValue(long), tagValue(long));
  assert.ok(tagValue(long).startsWith('aaaa'));
});
