import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LATEST_VERSION, SUPPORTED_VERSIONS } from '../cni/spec.ts';
import { encodeLine, parseRequest, SUPPORTED_VERSIONS as WIRE_VERSIONS } from './index.ts';

test('the thin plugin speaks the versions the plugin does (one list)', () => {
  assert.deepEqual(WIRE_VERSIONS, SUPPORTED_VERSIONS);
  assert.equal(LATEST_VERSION, '1.1.0');
});

test('a request line round-trips; anything else is refused with the reason', () => {
  const line = encodeLine({
    v: 1,
    env: { CNI_COMMAND: 'DEL' },
    stdin: Buffer.from('{}\n').toString('base64'),
  });
  assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
  assert.deepEqual(parseRequest(line), { v: 1, env: { CNI_COMMAND: 'DEL' }, stdin: 'e30K' });
  const problem = (l: string) => (parseRequest(l) as { problem: string }).problem;
  assert.equal(problem('{'), 'it is not JSON');
  assert.equal(problem('[1]'), 'it is not a JSON object');
  assert.match(problem('{"v":2,"env":{},"stdin":""}'), /protocol version 2, not 1/);
  assert.match(problem('{"v":1,"env":{"CNI_X":1},"stdin":""}'), /not an object of strings/);
  assert.match(problem('{"v":1,"env":{"HOME":"/"},"stdin":""}'), /not CNI_/);
  assert.match(problem('{"v":1,"env":{},"stdin":"!!"}'), /not base64/);
});
