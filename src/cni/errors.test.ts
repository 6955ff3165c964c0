import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STACK_TRACE } from '../../test/support/stack.ts';
import { IdentityError, InputError, NeutronError, PlugError, StoreError } from '../errors/index.ts';
import { errorJson, NnetCode, redactSecrets, safeStack, safeText, toCniError } from './errors.ts';

test('every domain error reason maps to its documented CNI code', () => {
  const table: [Error, number][] = [
    [new InputError('decode', 'x'), 6],
    [new InputError('invalid-config', 'x'), 7],
    [new InputError('invalid-argument', 'x'), 7],
    [new InputError('invalid-env', 'x'), 4],
    [new InputError('unsupported-version', 'x'), 1],
    [new InputError('io', 'x'), 5],
    [new IdentityError('unreachable', 'x'), 11],
    [new IdentityError('rejected', 'x'), 102],
    [new IdentityError('no-endpoint', 'x'), 108],
    [new IdentityError('no-credentials', 'x'), 108],
    [new NeutronError('unavailable', 'x'), 11],
    [new NeutronError('ip-taken', 'x'), 101],
    [new NeutronError('conflict', 'x'), 104],
    [new NeutronError('bad-request', 'x'), 104],
    [new NeutronError('over-quota', 'x'), 104],
    [new NeutronError('forbidden', 'x'), 104],
    [new NeutronError('not-found', 'x'), 109],
    [new StoreError('unavailable', 'x'), 11],
    [new StoreError('conflict', 'x'), 11],
    [new StoreError('not-registered', 'x'), 103],
    [new StoreError('corrupt', 'x'), 105],
    [new StoreError('not-found', 'x'), 110],
    [new IdentityError('tls', 'x'), 112],
    [new NeutronError('tls', 'x'), 112],
    [new StoreError('tls', 'x'), 112],
    [new IdentityError('too-large', 'x'), 113],
    [new NeutronError('too-large', 'x'), 113],
    [new StoreError('too-large', 'x'), 113],
    [new StoreError('rejected', 'x'), 114],
    [new PlugError('netns-missing', 'x'), 3],
    [new PlugError('ovs-unavailable', 'x'), 11],
    [new PlugError('link', 'x'), 106],
    [new PlugError('check-failed', 'x'), 107],
    [new DOMException('nnet ADD timed out after 5 ms', 'TimeoutError'), 11],
    [new Error('boom'), 100],
    [new TypeError('x is not a function'), 100],
  ];
  for (const [e, code] of table)
    assert.equal(toCniError(e, 'ADD').code, code, `${e.name} ${'reason' in e ? String(e.reason) : ''}`);
});

test('N-Net codes are all 100 or above and distinct', () => {
  const codes = Object.values(NnetCode);
  assert.ok(codes.every((c) => c >= 100));
  assert.equal(new Set(codes).size, codes.length);
});

test('a taken static IP fails with code 101 and a message naming the holder', () => {
  const f = toCniError(
    new NeutronError('ip-taken', 'IP 1.2.0.100 on subnet pods-v4 is held by port 5c1e… (pod default/web-0)', {
      status: 409,
      neutronType: 'IpAddressAlreadyAllocated',
    }),
    'ADD',
  );
  assert.equal(f.code, 101);
  assert.match(f.msg, /default\/web-0/);
  assert.match(f.details ?? '', /HTTP 409 IpAddressAlreadyAllocated/);
});

test('during STATUS, failures other than bad input are "plugin not available" (50)', () => {
  assert.equal(
    toCniError(new NeutronError('unavailable', 'Neutron at http://x:9696 is down'), 'STATUS').code,
    50,
  );
  assert.equal(toCniError(new IdentityError('rejected', 'x'), 'STATUS').code, 50);
  assert.equal(toCniError(new Error('x'), 'STATUS').code, 50);
  assert.equal(toCniError(new InputError('invalid-config', 'x'), 'STATUS').code, 7);
});

test('unknown exceptions keep their message, and thrown non-Errors still describe themselves', () => {
  assert.deepEqual(toCniError(new Error('ENOENT: /var/lib/nnet missing')), {
    code: 100,
    msg: 'internal error: ENOENT: /var/lib/nnet missing',
  });
  assert.equal(toCniError('just a string').msg, 'internal error: just a string');
  assert.equal(toCniError(42).msg, 'internal error: 42');
  assert.equal(toCniError(undefined).msg, 'internal error: undefined');
  assert.equal(toCniError(null).code, 100);
  const hostile = {
    toString() {
      throw new Error('no');
    },
  };
  assert.equal(toCniError(hostile).msg, 'internal error: an unprintable value');
  assert.equal(toCniError(Object.create(null)).msg, 'internal error: an unprintable value');
  assert.equal(toCniError(new Error('')).msg, 'internal error: Error');
});

test('the stack-trace detector the tests use finds real frames, not messages with "at" and colons', () => {
  const frames = new Error('x').stack?.split('\n').slice(1) ?? [];
  assert.ok(frames.length > 0);
  for (const frame of frames) assert.match(frame, STACK_TRACE);
  for (const frame of ['at node:internal/process/task_queues:95:5', 'at async run (file:///work/x.js:1:2)'])
    assert.match(frame, STACK_TRACE);
  // The CNI fuzz run with seed 1883572410 printed this legitimate error and was flagged.
  assert.doesNotMatch(
    'field "mtu" must be at least 68; field "mac" must be like "c2:11:22:33:44:55"',
    STACK_TRACE,
  );
});

test('no stack trace ever reaches msg or details', () => {
  const e = new Error('outer', { cause: new Error('inner') });
  const f = toCniError(e);
  assert.doesNotMatch(`${f.msg} ${f.details}`, STACK_TRACE);
  assert.match(f.details ?? '', /cause: inner/);
  const withStackInMessage = new Error(`failed\n    at foo (/work/x.ts:1:2)\n    at bar (/work/y.ts:3:4)`);
  assert.equal(toCniError(withStackInMessage).msg, 'internal error: failed');
});

test('secret-looking values are redacted from msg and details', () => {
  const cases = [
    'POST /v3/auth/tokens {"auth":{"password":"hunter2"}} failed',
    'url http://x/?password=hunter2&user=a',
    'header X-Auth-Token: hunter2',
    'Authorization: Bearer hunter2',
    'clouds.yaml line 4: password: hunter2',
    'application_credential_secret: hunter2',
    'token gAAAAABhunter2hunter2hunter2hunter2hunter2 rejected',
  ];
  for (const text of cases) {
    const f = toCniError(new IdentityError('rejected', text, { details: text, cause: new Error(text) }));
    assert.doesNotMatch(`${f.msg} ${f.details}`, /hunter2/, text);
    assert.match(f.msg, /\[redacted\]/, text);
  }
  assert.equal(
    safeText('Keystone rejected the credentials: The request you have made requires authentication.', 200),
    'Keystone rejected the credentials: The request you have made requires authentication.',
  );
});

test('msg and details are bounded', () => {
  const f = toCniError(new Error('x'.repeat(100_000)));
  assert.ok(f.msg.length <= 1024);
  const g = toCniError(new StoreError('corrupt', 'x', { details: 'y'.repeat(100_000) }));
  assert.ok((g.details ?? '').length <= 4096);
});

test('the error JSON has cniVersion, code and msg, and details only when there are some', () => {
  assert.deepEqual(errorJson('1.0.0', { code: 7, msg: 'bad' }), { cniVersion: '1.0.0', code: 7, msg: 'bad' });
  assert.deepEqual(errorJson('0.4.0', { code: 11, msg: 'later', details: 'why' }), {
    cniVersion: '0.4.0',
    code: 11,
    msg: 'later',
    details: 'why',
  });
});

test('stacks logged to the file keep their lines but lose secret values', () => {
  const stack = 'Error: login failed password=hunter2\n    at login (/src/identity/keystone.ts:10:5)';
  const out = redactSecrets(stack);
  assert.doesNotMatch(out, /hunter2/);
  assert.match(out, /\n {4}at login/);
});

test("a parser's error never reaches msg, details or the log's stack: it quotes its input", () => {
  let syntax: unknown;
  try {
    JSON.parse('{"password": hunter2-LE"}');
  } catch (e) {
    syntax = e;
  }
  const yamlish = Object.assign(new Error('Unresolved tag: !x at line 1:\n password: hunter2-LE'), {
    name: 'YAMLParseError',
  });
  for (const e of [syntax, yamlish, new InputError('decode', 'bad file', { cause: syntax })]) {
    const f = toCniError(e, 'ADD');
    assert.doesNotMatch(`${f.msg} ${f.details ?? ''}`, /hunter2/);
    assert.doesNotMatch(safeStack(e as Error), /hunter2/);
  }
  assert.match(toCniError(syntax, 'ADD').msg, /SyntaxError while parsing input \(its text is withheld/);
});
