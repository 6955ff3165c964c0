import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdentityError, InputError, NeutronError, PlugError, StoreError } from '../errors/index.ts';
import { toCliFailure } from './exit.ts';

test('an N-Net error prints "error: <message>" and exits 1, like kubectl', () => {
  assert.deepEqual(toCliFailure(new InputError('invalid-argument', 'unknown flag: --bogus')), {
    message: 'error: unknown flag: --bogus\n',
    exitCode: 1,
  });
  assert.deepEqual(
    toCliFailure(
      new NeutronError('ip-taken', 'IP 1.2.0.100 is already allocated in subnet pods-a', { status: 409 }),
    ),
    {
      message: 'error: IP 1.2.0.100 is already allocated in subnet pods-a\n',
      exitCode: 1,
    },
  );
  assert.equal(toCliFailure(new PlugError('link', 'could not move eth0')).exitCode, 1);
});

test('errors the user can act on carry a hint', () => {
  assert.equal(
    toCliFailure(new StoreError('not-registered', 'cluster "prod" is not registered')).message,
    'error: cluster "prod" is not registered\nhint: register the cluster with \'kubenetctl create cluster NAME\'\n',
  );
  assert.match(
    toCliFailure(new IdentityError('no-credentials', 'kubenetctl needs your OpenStack credentials')).message,
    /\nhint: kubenetctl finds OpenStack credentials as the openstack CLI does: set OS_CLOUD/,
  );
  assert.match(
    toCliFailure(new NeutronError('unavailable', 'Neutron answered 503')).message,
    /\nhint: Neutron is unavailable; retry\n$/,
  );
  assert.doesNotMatch(
    toCliFailure(new IdentityError('rejected', 'Keystone rejected user k8s')).message,
    /hint/,
  );
});

test('an unknown exception is an internal error without a stack', () => {
  const failure = toCliFailure(new TypeError('x is undefined'));
  assert.deepEqual(failure, { message: 'error: internal error: x is undefined\n', exitCode: 1 });
  assert.deepEqual(toCliFailure('boom'), { message: 'error: internal error: boom\n', exitCode: 1 });
});

test('NNET_DEBUG=1 adds the stack, the domain/reason, details and causes', () => {
  const internal = toCliFailure(new TypeError('x is undefined'), { NNET_DEBUG: '1' }).message;
  assert.match(internal, /^error: internal error: x is undefined\nTypeError: x is undefined\n\s+at /);
  const err = new NeutronError('conflict', 'port exists', {
    details: 'port 1234',
    cause: new Error('HTTP 409'),
  });
  assert.equal(
    toCliFailure(err, { NNET_DEBUG: '1' }).message,
    'error: port exists\n  (neutron/conflict)\n  details: port 1234\n  caused by: Error: HTTP 409\n',
  );
  assert.equal(toCliFailure(err, { NNET_DEBUG: '0' }).message, 'error: port exists\n');
});

test("a parser's error is printed without its text, even with NNET_DEBUG=1", () => {
  let syntax: unknown;
  try {
    JSON.parse('{"password": hunter2-LE"}');
  } catch (e) {
    syntax = e;
  }
  for (const e of [syntax, new InputError('decode', 'bad file', { cause: syntax })]) {
    const out = toCliFailure(e, { NNET_DEBUG: '1' }).message;
    assert.doesNotMatch(out, /hunter2/);
  }
});

test('a TLS failure says it is configuration and what to set', () => {
  const out = toCliFailure(new IdentityError('tls', 'TLS with Keystone at https://k/v3 failed: …')).message;
  assert.match(out, /hint: a TLS configuration error, not an outage: set cacert \(OS_CACERT\)/);
});
