/**
 * The etcd store as production runs it, against etcd members of this test's own on loopback
 * ports (never the shared one): client TLS with a private CA and client certificates, password
 * authentication with a user whose role is limited to N-Net's prefix, a token that expires and
 * is renewed, a fixed token from a file, and failover past a dead endpoint. The 3-member
 * member-kill churn through the plugin is in etcd-cluster.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError, StoreError } from '../../src/errors/index.ts';
import { tlsAgent } from '../../src/http/index.ts';
import { EtcdGateway } from '../../src/store/etcd.ts';
import { openStore } from '../../src/store/index.ts';
import { type EtcdUserAuth, freePort, startEtcd, type TestEtcd } from '../support/etcd.ts';
import { makePki, type Pki } from '../support/pki.ts';

const tag = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), `nnte-${tag}-`));
const prefix = `/nnte-${tag}`;
let pki: Pki;
let etcd: TestEtcd;
let auth: EtcdUserAuth;

before(async () => {
  pki = makePki(join(dir, 'pki'));
  etcd = await startEtcd({ name: `nnte-${tag}`, dir, pki, clientCertAuth: true, tokenTtlS: 2 });
  auth = etcd.enableAuth({ prefix, user: 'nnet' });
});
after(async () => {
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const resource = (id: string) => ({ kind: 'network' as const, id, name: `net-${id}`, cluster: 'c1' });

const storeError =
  (reason: string, ...mentions: RegExp[]) =>
  (e: unknown) => {
    assert.ok(e instanceof StoreError, `expected a StoreError, got ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    for (const m of mentions) assert.match(e.message, m);
    return true;
  };

function notLeaking(e: unknown, secret: string): true {
  const text = `${(e as Error).message} ${(e as { details?: string }).details ?? ''}`;
  assert.ok(!text.includes(secret), `the secret is in "${text}"`);
  return true;
}

describe('etcd with TLS, client certificates and password auth', () => {
  test('a store over TLS with a client certificate and a user limited to its prefix reads and writes', async () => {
    const store = await openStore(etcd.storeUrl(prefix, auth));
    try {
      await store.resources.put(resource('a'));
      await store.resources.put(resource('b'));
      assert.equal((await store.resources.get({ kind: 'network', id: 'a' }))?.name, 'net-a');
      assert.deepEqual(
        (await store.resources.list({ kind: 'network' })).map((r) => r.id),
        ['a', 'b'],
      );
      assert.equal(await store.resources.delete({ kind: 'network', id: 'b' }), true);
      assert.equal(await store.resources.get({ kind: 'network', id: 'b' }), undefined);
    } finally {
      await store.close();
    }
    // What the store wrote is really in etcd, under the prefix, and etcd wants auth for it.
    const got = etcd.etcdctl(['get', `${prefix}/resources/network/a`, '--print-value-only']);
    assert.match(got, /"net-a"/);
  });

  test('the user may not leave its prefix: another prefix is refused as StoreError rejected, naming the user', async () => {
    await assert.rejects(
      openStore(etcd.storeUrl(`/nnte-other-${tag}`, auth)),
      storeError('rejected', /user "nnet"/, /permission denied/),
    );
  });

  test('a wrong password is rejected at once (not retried, not "unreachable") and never repeated', async () => {
    const file = join(dir, 'wrong.password');
    writeFileSync(file, 'hunter2-wrong\n', { mode: 0o600 });
    const url = etcd.storeUrl(prefix, { ...auth, passwordFile: file });
    await assert.rejects(
      openStore(url),
      (e) => storeError('rejected', /user "nnet"/, new RegExp(file))(e) && notLeaking(e, 'hunter2-wrong'),
    );
  });

  test('no credentials on an etcd with auth: StoreError rejected saying auth is required', async () => {
    await assert.rejects(openStore(etcd.storeUrl(prefix)), storeError('rejected', /requires authentication/));
  });

  test('a password file others may read is refused before anything is sent', async () => {
    const file = join(dir, 'loose.password');
    writeFileSync(file, `${auth.password}\n`, { mode: 0o600 });
    chmodSync(file, 0o644);
    await assert.rejects(
      openStore(etcd.storeUrl(prefix, { ...auth, passwordFile: file })),
      (e) =>
        e instanceof InputError &&
        e.reason === 'invalid-config' &&
        /mode 0644/.test(e.message) &&
        notLeaking(e, auth.password),
    );
  });

  test('without the CA the server certificate is not trusted: StoreError tls, on every endpoint', async () => {
    const url = etcd.storeUrl(prefix, auth, { ca: pki.otherCaCert });
    await assert.rejects(openStore(url), storeError('tls', /not trusted/, /cacert/));
  });

  test('without a client certificate the members refuse the handshake: StoreError tls', async () => {
    const url = etcd.storeUrl(prefix, auth, { clientCert: false });
    await assert.rejects(openStore(url), storeError('tls', /TLS/));
  });

  test('an expired token is renewed: the gateway authenticates again and the request succeeds', async () => {
    const gateway = new EtcdGateway(etcd.endpoints, {
      agent: tlsAgent(
        { caFile: pki.caCert, certFile: pki.clientCert, keyFile: pki.clientKey, verify: true },
        'test',
      ),
      credentials: { user: auth.user, password: auth.password, from: auth.passwordFile },
    });
    await gateway.get(`${prefix}/schema`);
    assert.equal(gateway.authentications, 1);
    // etcd runs with --auth-token-ttl 2: wait past it (simple tokens are checked lazily).
    await sleep(4000);
    await gateway.get(`${prefix}/schema`);
    assert.equal(gateway.authentications, 2, 'a second authentication after the token expired');
  });

  test('a token from a 0600 file authenticates without a password', async () => {
    const res = JSON.parse(
      execAuth(etcd, pki, auth), // POST auth/authenticate by hand, as an operator's tool would
    ) as { token: string };
    const tokenFile = join(dir, 'nnet.token');
    writeFileSync(tokenFile, `${res.token}\n`, { mode: 0o600 });
    const url = etcd.storeUrl(prefix).concat(`&token-file=${tokenFile}`);
    const store = await openStore(url);
    try {
      assert.equal((await store.resources.get({ kind: 'network', id: 'a' }))?.name, 'net-a');
    } finally {
      await store.close();
    }
  });

  test('a dead endpoint first in the list is skipped: the store fails over to the live member', async () => {
    const dead = `https://127.0.0.1:${await freePort()}`;
    const url = etcd.storeUrl(prefix, auth).replace('etcd:', `etcd:${dead},`);
    const store = await openStore(url);
    try {
      assert.equal((await store.resources.get({ kind: 'network', id: 'a' }))?.name, 'net-a');
    } finally {
      await store.close();
    }
  });
});

/** The token etcd issues for the user, fetched with curl (not N-Net's client). */
function execAuth(e: TestEtcd, p: Pki, a: EtcdUserAuth): string {
  return execFileSync(
    'curl',
    [
      '-sf',
      '--cacert',
      p.caCert,
      '--cert',
      p.clientCert,
      '--key',
      p.clientKey,
      '-X',
      'POST',
      `${e.endpoints[0]}/v3/auth/authenticate`,
      '-d',
      JSON.stringify({ name: a.user, password: readFileSync(a.passwordFile, 'utf8').trim() }),
    ],
    { encoding: 'utf8' },
  );
}
