import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdentityError, InputError } from '../errors/index.ts';
import {
  credentialsFromFlat,
  describeCredentials,
  flattenCloud,
  flattenEnv,
  normaliseAuthUrl,
  tlsFromFlat,
  toCloudEntry,
} from './credentials.ts';

const SECRET = 's3cr3t-Pa55word-xyz';

test('OS_* variables become password credentials scoped to a project by name', () => {
  const flat = flattenEnv({
    OS_AUTH_URL: 'http://ks:5000/v3',
    OS_USERNAME: 'admin',
    OS_PASSWORD: SECRET,
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_NAME: 'demo',
    OS_PROJECT_DOMAIN_ID: 'default',
    OS_REGION_NAME: 'RegionTwo',
    OS_INTERFACE: 'internal',
    OS_CLOUD: 'ignored-selector',
    PATH: '/bin',
  });
  const c = credentialsFromFlat(flat, 'env');
  assert.deepEqual(c, {
    method: 'password',
    authUrl: 'http://ks:5000/v3',
    user: { name: 'admin', domain: { name: 'Default' } },
    password: SECRET,
    scope: { project: { name: 'demo', domain: { id: 'default' } } },
    regionName: 'RegionTwo',
    interface: 'internal',
    source: 'env',
  });
});

test('OS_REGION_NAME alone is a selector, not credentials (as in openstacksdk)', () => {
  const flat = flattenEnv({ OS_REGION_NAME: 'r1', OS_CLOUD: 'x', OS_CLIENT_CONFIG_FILE: '/f' });
  assert.deepEqual(flat, { region_name: 'r1' });
});

test('OS_DOMAIN_ID with a project fills both the user and the project domain', () => {
  const c = credentialsFromFlat(
    { auth_url: 'http://ks/v3', username: 'u', password: SECRET, project_name: 'p', domain_id: 'd1' },
    'x',
  );
  assert.equal(c.method, 'password');
  if (c.method !== 'password') return;
  assert.deepEqual(c.user, { name: 'u', domain: { id: 'd1' } });
  assert.deepEqual(c.scope, { project: { name: 'p', domain: { id: 'd1' } } });
});

test('OS_DOMAIN_NAME without a project scopes the token to that domain', () => {
  const c = credentialsFromFlat(
    { auth_url: 'http://ks/v3', user_id: 'uid', password: SECRET, domain_name: 'Corp' },
    'x',
  );
  assert.equal(
    c.method === 'password' && JSON.stringify(c.scope),
    JSON.stringify({ domain: { name: 'Corp' } }),
  );
});

test('a clouds.yaml entry: top-level keys override auth keys, tenant_name means project_name', () => {
  const flat = flattenCloud(
    {
      auth: {
        auth_url: 'http://old/v3',
        username: 'u',
        password: SECRET,
        tenant_name: 'legacy',
        'user-domain-id': 'default',
        project_domain_id: 'default',
      },
      auth_url: 'http://new:5000',
      endpoint_type: 'adminURL',
      regions: ['R1', 'R2'],
      identity_api_version: 3,
    },
    'clouds.yaml',
  );
  const c = credentialsFromFlat(flat, 'clouds.yaml');
  assert.equal(c.authUrl, 'http://new:5000/v3');
  assert.equal(c.interface, 'admin');
  assert.equal(c.regionName, 'R1');
  assert.equal(
    c.method === 'password' && JSON.stringify(c.scope),
    JSON.stringify({ project: { name: 'legacy', domain: { id: 'default' } } }),
  );
});

test('default_domain_id fills user and project domains that are not given', () => {
  const c = credentialsFromFlat(
    { auth_url: 'http://ks/v3', username: 'u', password: SECRET, project_name: 'p', default_domain_id: 'dd' },
    'x',
  );
  assert.ok(c.method === 'password');
  assert.deepEqual(c.user, { name: 'u', domain: { id: 'dd' } });
});

test('application credential by id needs no user; by name it needs its owner', () => {
  const byId = credentialsFromFlat(
    {
      auth_type: 'v3applicationcredential',
      auth_url: 'http://ks/v3',
      application_credential_id: 'ac1',
      application_credential_secret: SECRET,
    },
    'x',
  );
  assert.deepEqual(byId.method === 'application-credential' && byId.applicationCredential, {
    id: 'ac1',
    secret: SECRET,
  });
  assert.throws(
    () =>
      credentialsFromFlat(
        {
          auth_type: 'v3applicationcredential',
          auth_url: 'http://ks/v3',
          application_credential_name: 'n',
          application_credential_secret: SECRET,
        },
        'x',
      ),
    (e: unknown) =>
      e instanceof IdentityError && e.reason === 'no-credentials' && /username or user_id/.test(e.message),
  );
});

test('a secret with no password and no auth_type is taken as an application credential', () => {
  const c = credentialsFromFlat(
    { auth_url: 'http://ks/v3', application_credential_id: 'ac', application_credential_secret: SECRET },
    'x',
  );
  assert.equal(c.method, 'application-credential');
});

test('missing pieces are all named in one no-credentials error that quotes no secret', () => {
  let err: unknown;
  try {
    credentialsFromFlat(
      { username: 'alice', project_name: 'p', region_name: SECRET },
      'OS_* environment variables',
    );
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof IdentityError);
  assert.equal(err.reason, 'no-credentials');
  for (const piece of [
    'auth_url',
    'password',
    'user domain for user "alice"',
    'project domain for project "p"',
  ])
    assert.ok(err.message.includes(piece), `${piece} in: ${err.message}`);
  assert.ok(err.message.includes('OS_* environment variables'));
  assert.ok(!err.message.includes(SECRET));
});

test('a password but no user is reported as missing the user', () => {
  assert.throws(
    () => credentialsFromFlat({ auth_url: 'http://ks/v3', password: SECRET }, 'x'),
    (e: unknown) =>
      e instanceof IdentityError && /username or user_id/.test(e.message) && !e.message.includes(SECRET),
  );
});

test('invalid values are InputError invalid-config: interface, auth_type, auth_url', () => {
  const base = { auth_url: 'http://ks/v3', user_id: 'u', password: SECRET };
  const isInvalid = (e: unknown) => e instanceof InputError && e.reason === 'invalid-config';
  assert.throws(() => credentialsFromFlat({ ...base, interface: 'private' }, 'x'), isInvalid);
  assert.throws(() => credentialsFromFlat({ ...base, auth_type: 'token' }, 'x'), isInvalid);
  assert.throws(() => credentialsFromFlat({ ...base, auth_url: 'ks:5000' }, 'x'), isInvalid);
  assert.throws(() => credentialsFromFlat({ ...base, auth_url: 'http://ks:5000/v2.0' }, 'x'), isInvalid);
});

test('auth_url is normalised to end in /v3', () => {
  assert.equal(normaliseAuthUrl('http://ks:5000', 'x'), 'http://ks:5000/v3');
  assert.equal(normaliseAuthUrl('http://ks:5000/', 'x'), 'http://ks:5000/v3');
  assert.equal(normaliseAuthUrl('https://cloud/identity/v3/', 'x'), 'https://cloud/identity/v3');
  assert.equal(normaliseAuthUrl('https://cloud/identity', 'x'), 'https://cloud/identity/v3');
});

test('describeCredentials names user, domain and project but never the secret', () => {
  const c = credentialsFromFlat(
    {
      auth_url: 'http://ks/v3',
      username: 'bob',
      password: SECRET,
      user_domain_id: 'default',
      project_id: 'p1',
    },
    'x',
  );
  const d = describeCredentials(c);
  assert.equal(d, 'user "bob" (domain id default), project id p1');
  assert.ok(!d.includes(SECRET));
});

test('toCloudEntry and back gives the same credentials, for every kind of user, scope and method', () => {
  const flats: Record<string, string>[] = [
    {
      auth_url: 'http://ks/v3',
      username: 'u',
      user_domain_name: 'D',
      password: SECRET,
      project_name: 'p',
      project_domain_id: 'd',
    },
    { auth_url: 'http://ks/v3', user_id: 'uid', password: SECRET, project_id: 'pid', region_name: 'R' },
    {
      auth_url: 'http://ks/v3',
      user_id: 'uid',
      password: SECRET,
      domain_name: 'Corp',
      interface: 'internal',
    },
    { auth_url: 'http://ks/v3', user_id: 'uid', password: SECRET, system_scope: 'all' },
    { auth_url: 'http://ks/v3', user_id: 'uid', password: SECRET },
    {
      auth_type: 'v3applicationcredential',
      auth_url: 'http://ks/v3',
      application_credential_id: 'a',
      application_credential_secret: SECRET,
    },
    {
      auth_type: 'v3applicationcredential',
      auth_url: 'http://ks/v3',
      application_credential_name: 'n',
      application_credential_secret: SECRET,
      username: 'u',
      user_domain_id: 'default',
    },
  ];
  for (const flat of flats) {
    const c = credentialsFromFlat(flat, 'src');
    const entry = toCloudEntry(c);
    assert.deepEqual(credentialsFromFlat(flattenCloud(entry, 'src'), 'src'), c, JSON.stringify(flat));
  }
});

test('TLS settings follow openstacksdk: insecure wins, verify false skips cacert, cert/key, OS_* forms', () => {
  const src = 'test';
  assert.equal(tlsFromFlat({}, src), undefined, 'defaults: system CAs, verified');
  assert.deepEqual(tlsFromFlat({ cacert: '/etc/ca.pem' }, src), { verify: true, caFile: '/etc/ca.pem' });
  assert.deepEqual(tlsFromFlat({ verify: 'false', cacert: '/etc/ca.pem' }, src), { verify: false });
  assert.deepEqual(tlsFromFlat({ insecure: 'true', verify: 'true', cacert: '/ca' }, src), { verify: false });
  assert.deepEqual(tlsFromFlat({ insecure: 'False', cacert: '/ca' }, src), { verify: true, caFile: '/ca' });
  assert.deepEqual(tlsFromFlat({ cert: '/c.pem', key: '/k.pem' }, src), {
    verify: true,
    certFile: '/c.pem',
    keyFile: '/k.pem',
  });
  assert.throws(() => tlsFromFlat({ key: '/k.pem' }, src), /key \(OS_KEY\) is given without cert/);
  assert.throws(
    () => tlsFromFlat({ insecure: 'maybe' }, src),
    /insecure \(OS_INSECURE\) must be true or false/,
  );
  // The same keys from the environment and from a cloud entry (booleans are YAML booleans there).
  const env = flattenEnv({ OS_CACERT: '/ca', OS_CERT: '/c', OS_KEY: '/k', OS_INSECURE: 'false' });
  assert.deepEqual(tlsFromFlat(env, src), { verify: true, caFile: '/ca', certFile: '/c', keyFile: '/k' });
  const cloud = flattenCloud({ auth: {}, verify: false }, src);
  assert.deepEqual(tlsFromFlat(cloud, src), { verify: false });
});

test('credentials carry their TLS settings, and toCloudEntry keeps them', () => {
  const c = credentialsFromFlat(
    {
      auth_url: 'https://k:5000',
      username: 'u',
      password: 'p',
      user_domain_id: 'default',
      cacert: '/etc/ca.pem',
      cert: '/etc/c.pem',
      key: '/etc/k.pem',
    },
    'test',
  );
  assert.deepEqual(c.tls, {
    verify: true,
    caFile: '/etc/ca.pem',
    certFile: '/etc/c.pem',
    keyFile: '/etc/k.pem',
  });
  const entry = toCloudEntry(c);
  assert.equal(entry.cacert, '/etc/ca.pem');
  assert.deepEqual(credentialsFromFlat(flattenCloud(entry, 't'), 'test').tls, c.tls);
});
