import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { InputError } from '../errors/index.ts';
import { isDefaultTls, tlsAgent, tlsFailureOf } from './tls.ts';

const dir = mkdtempSync(join(tmpdir(), 'nnt-http-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const fetchFailed = (code: string) =>
  new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code }) });

test('TLS failures are told apart from outages, with what they mean', () => {
  const cases: [string, RegExp][] = [
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', /not trusted/],
    ['SELF_SIGNED_CERT_IN_CHAIN', /not trusted/],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', /not trusted/],
    ['CERT_HAS_EXPIRED', /not valid now/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', /does not name this host/],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', /client certificate/],
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', /client certificate/],
    ['ERR_SSL_WRONG_VERSION_NUMBER', /does not speak TLS/],
  ];
  for (const [code, why] of cases) {
    const f = tlsFailureOf(fetchFailed(code));
    assert.equal(f?.code, code);
    assert.match(f?.why ?? '', why, code);
  }
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'ETIMEDOUT'])
    assert.equal(tlsFailureOf(fetchFailed(code)), undefined, code);
  assert.equal(tlsFailureOf(new Error('boom')), undefined);
});

test('default TLS settings need no agent (the global fetch with the system CAs does)', () => {
  assert.ok(isDefaultTls(undefined));
  assert.ok(isDefaultTls({ verify: true }));
  assert.equal(tlsAgent({ verify: true }, 'test'), undefined);
  assert.ok(tlsAgent({ verify: false }, 'test'));
});

test('unreadable or unusable TLS files are invalid config naming the file, never quoting it', () => {
  const missing = join(dir, 'missing.pem');
  assert.throws(
    () => tlsAgent({ caFile: missing, verify: true }, 'clouds.yaml x cloud "c"'),
    (e) => e instanceof InputError && e.reason === 'invalid-config' && e.message.includes(missing),
  );
  const garbage = join(dir, 'garbage.pem');
  writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nhunter2-not-a-cert\n-----END CERTIFICATE-----\n');
  assert.throws(
    () => tlsAgent({ certFile: garbage, keyFile: garbage, verify: true }, 'test'),
    (e) => e instanceof InputError && e.message.includes(garbage) && !e.message.includes('hunter2'),
  );
  assert.throws(() => tlsAgent({ keyFile: garbage, verify: true }, 'test'), /without a certificate/);
});
