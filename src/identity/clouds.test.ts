import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { IdentityError, InputError } from '../errors/index.ts';
import {
  configSearchPath,
  credentialsFromEnv,
  credentialsFromObject,
  loadCredentials,
  parseOpenrc,
} from './clouds.ts';

const SECRET = 'pw-Zq9!never-print';
const root = mkdtempSync(join(tmpdir(), 'nnt-idn-clouds-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A fresh cwd / home / site layout under the temp root. */
function layout() {
  const dir = join(root, String(n++));
  const l = { cwd: join(dir, 'cwd'), home: join(dir, 'home'), site: join(dir, 'etc'), dir };
  for (const d of [l.cwd, join(l.home, '.config', 'openstack'), l.site]) mkdirSync(d, { recursive: true });
  return { ...l, opts: { cwd: l.cwd, home: l.home, siteDirs: [l.site] } };
}

/** The YAML of one cloud entry (indented to sit under `clouds:\n  <name>:`), without a password. */
function cloud(url: string, extra: Record<string, string> = {}) {
  const auth = {
    auth_url: url,
    username: 'admin',
    user_domain_id: 'default',
    project_name: 'admin',
    project_domain_id: 'default',
  };
  const lines = ['    auth:', ...Object.entries(auth).map(([k, v]) => `      ${k}: ${v}`)];
  for (const [k, v] of Object.entries(extra)) lines.push(`    ${k}: ${v}`);
  return `${lines.join('\n')}\n`;
}

test('the search order is $OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack/, /etc/openstack/', () => {
  const l = layout();
  const files = configSearchPath('clouds', { ...l.opts, env: { OS_CLIENT_CONFIG_FILE: '/x/my.yaml' } });
  assert.deepEqual(files.slice(0, 5), [
    '/x/my.yaml',
    join(l.cwd, 'clouds.yaml'),
    join(l.cwd, 'clouds.yml'),
    join(l.cwd, 'clouds.json'),
    join(l.home, '.config/openstack/clouds.yaml'),
  ]);
  assert.equal(files.at(-3), join(l.site, 'clouds.yaml'));
});

test('OS_CLOUD selects a cloud from the first clouds.yaml found, with secure.yaml merged in', () => {
  const l = layout();
  writeFileSync(
    join(l.cwd, 'clouds.yaml'),
    `clouds:\n  lab:\n${cloud('http://cwd:5000/v3')}  other:\n${cloud('http://o/v3')}`,
  );
  writeFileSync(
    join(l.home, '.config/openstack/clouds.yaml'),
    `clouds:\n  lab:\n${cloud('http://home:5000/v3')}`,
  );
  writeFileSync(join(l.site, 'secure.yaml'), `clouds:\n  lab:\n    auth:\n      password: "${SECRET}"\n`);
  const c = loadCredentials({ ...l.opts, env: { OS_CLOUD: 'lab' } });
  assert.equal(c.authUrl, 'http://cwd:5000/v3');
  assert.equal(c.method === 'password' && c.password, SECRET);
  assert.match(c.source, /cwd\/clouds\.yaml cloud "lab"/);
});

test('$OS_CLIENT_CONFIG_FILE wins over ./clouds.yaml', () => {
  const l = layout();
  writeFileSync(
    join(l.cwd, 'clouds.yaml'),
    `clouds:\n  lab:\n${cloud('http://cwd/v3', { region_name: 'R' })}`,
  );
  const explicit = join(l.dir, 'explicit.yaml');
  writeFileSync(explicit, `clouds:\n  lab:\n${cloud('http://explicit/v3', { region_name: 'R' })}`);
  const c = loadCredentials({
    ...l.opts,
    env: { OS_CLOUD: 'lab', OS_CLIENT_CONFIG_FILE: explicit, OS_PASSWORD: SECRET },
  });
  assert.equal(c.authUrl, 'http://explicit/v3');
});

test('OS_* variables override the selected cloud, as the CLI options they default do', () => {
  const l = layout();
  writeFileSync(
    join(l.cwd, 'clouds.yaml'),
    `clouds:\n  lab:\n${cloud('http://cwd/v3', { region_name: 'R1' })}`,
  );
  const c = loadCredentials({
    ...l.opts,
    env: { OS_CLOUD: 'lab', OS_PASSWORD: SECRET, OS_REGION_NAME: 'R2', OS_PROJECT_NAME: 'demo' },
  });
  assert.equal(c.regionName, 'R2');
  assert.ok(c.method === 'password');
  assert.equal(c.password, SECRET);
  assert.deepEqual(c.scope, { project: { name: 'demo', domain: { id: 'default' } } });
});

test('without OS_CLOUD, OS_* variables are used; without them, the only cloud of the file', () => {
  const l = layout();
  writeFileSync(join(l.cwd, 'clouds.yaml'), `clouds:\n  solo:\n${cloud('http://solo/v3')}`);
  const fromEnv = loadCredentials({
    ...l.opts,
    env: { OS_AUTH_URL: 'http://env/v3', OS_USER_ID: 'u', OS_PASSWORD: SECRET },
  });
  assert.equal(fromEnv.authUrl, 'http://env/v3');
  assert.equal(fromEnv.source, 'OS_* environment variables');
  assert.throws(
    () => loadCredentials({ ...l.opts, env: {} }),
    (e: unknown) =>
      e instanceof IdentityError && /missing password/.test(e.message) && /"solo"/.test(e.message),
  );
});

test('an unknown cloud name is reported with the clouds the file has', () => {
  const l = layout();
  writeFileSync(
    join(l.cwd, 'clouds.yaml'),
    `clouds:\n  a:\n${cloud('http://a/v3')}  b:\n${cloud('http://b/v3')}`,
  );
  assert.throws(
    () => loadCredentials({ ...l.opts, env: { OS_CLOUD: 'nope' } }),
    (e: unknown) =>
      e instanceof IdentityError &&
      e.reason === 'no-credentials' &&
      e.message.includes('"nope" not found') &&
      e.message.includes('"a", "b"'),
  );
  assert.throws(
    () => loadCredentials({ ...l.opts, env: {} }),
    (e: unknown) => e instanceof IdentityError && /no OpenStack cloud selected/.test(e.message),
  );
});

test('nothing anywhere: the error says what to set and where it looked', () => {
  const l = layout();
  assert.throws(
    () => loadCredentials({ ...l.opts, env: {} }),
    (e: unknown) =>
      e instanceof IdentityError &&
      e.reason === 'no-credentials' &&
      e.message.includes('OS_CLOUD') &&
      e.message.includes('OS_AUTH_URL') &&
      e.message.includes(join(l.cwd, 'clouds.yaml')),
  );
});

test('a broken clouds.yaml in the search path is skipped and named', () => {
  const l = layout();
  writeFileSync(join(l.cwd, 'clouds.yaml'), 'clouds: [unclosed');
  writeFileSync(join(l.site, 'clouds.yaml'), `clouds:\n  lab:\n${cloud('http://site/v3')}`);
  const c = loadCredentials({ ...l.opts, env: { OS_CLOUD: 'lab', OS_PASSWORD: SECRET } });
  assert.equal(c.authUrl, 'http://site/v3');
  rmSync(join(l.site, 'clouds.yaml'));
  assert.throws(
    () => loadCredentials({ ...l.opts, env: { OS_CLOUD: 'lab' } }),
    (e: unknown) =>
      e instanceof IdentityError &&
      e.message.includes(`skipped ${join(l.cwd, 'clouds.yaml')} (not valid YAML)`),
  );
});

test('an explicit clouds.yaml path is read alone; a broken one is an InputError', () => {
  const l = layout();
  const f = join(l.dir, 'creds.yaml');
  writeFileSync(f, `clouds:\n  only:\n${cloud('http://only/v3', { region_name: 'RX' })}`);
  writeFileSync(join(l.cwd, 'clouds.yaml'), `clouds:\n  only:\n${cloud('http://cwd/v3')}`);
  const c = loadCredentials({ ...l.opts, file: f, env: { OS_PASSWORD: SECRET } });
  assert.equal(c.authUrl, 'http://only/v3');
  assert.equal(c.regionName, 'RX');
  const bad = join(l.dir, 'bad.yaml');
  writeFileSync(bad, 'clouds: [unclosed');
  assert.throws(
    () => loadCredentials({ file: bad, env: {} }),
    (e: unknown) => e instanceof InputError && e.reason === 'decode' && e.message.includes(bad),
  );
  assert.throws(
    () => loadCredentials({ file: join(l.dir, 'missing.yaml'), env: {} }),
    (e: unknown) => e instanceof IdentityError && /ENOENT/.test(e.message),
  );
});

test('an explicit openrc file is read as OS_* variables', () => {
  const l = layout();
  const f = join(l.dir, 'openrc');
  writeFileSync(
    f,
    `# comment\nexport OS_AUTH_URL=http://rc:5000/v3\nexport OS_USERNAME='admin'\nexport OS_PASSWORD="${SECRET}"\nexport OS_USER_DOMAIN_ID=default\nexport OS_PROJECT_ID=p1\n`,
  );
  const c = loadCredentials({ file: f, env: {} });
  assert.equal(c.authUrl, 'http://rc:5000/v3');
  assert.ok(c.method === 'password' && c.password === SECRET);
  assert.deepEqual(parseOpenrc('export OS_X="a b"\nOS_Y=c\nFOO=1'), { OS_X: 'a b', OS_Y: 'c' });
});

test('credentials from an explicit object: a cloud entry or OS_* names', () => {
  const a = credentialsFromObject({
    auth_type: 'v3applicationcredential',
    auth: {
      auth_url: 'http://ks/v3',
      application_credential_id: 'id1',
      application_credential_secret: SECRET,
    },
    region_name: 'R',
  });
  assert.equal(a.method, 'application-credential');
  assert.equal(a.regionName, 'R');
  const b = credentialsFromObject({ OS_AUTH_URL: 'http://ks', OS_USER_ID: 'u', OS_PASSWORD: SECRET });
  assert.equal(b.authUrl, 'http://ks/v3');
  assert.throws(() => credentialsFromObject('nope'), InputError);
  assert.throws(
    () => credentialsFromEnv({ OS_CLOUD: 'x' }),
    (e: unknown) => e instanceof IdentityError && e.reason === 'no-credentials',
  );
});

test("a malformed credentials file is reported by name and position, never with the parser's text", () => {
  const l = layout();
  const json = join(l.dir, 'creds.json');
  writeFileSync(json, `{"clouds": {"c": {"auth": {"password": ${SECRET}"}}}}`);
  const yaml = join(l.dir, 'creds.yaml');
  writeFileSync(yaml, `clouds:\n  c:\n    auth:\n      password: ${SECRET}\n      username: "u\n`);
  for (const file of [json, yaml])
    assert.throws(
      () => loadCredentials({ file, cloud: 'c', env: {} }),
      (e) =>
        e instanceof InputError &&
        e.reason === 'decode' &&
        e.message.includes(file) &&
        !`${e.message} ${e.details ?? ''} ${String(e.cause ?? '')}`.includes('never-print'),
    );
  assert.throws(
    () => loadCredentials({ file: yaml, cloud: 'c', env: {} }),
    /not valid YAML \(at line \d+, column \d+\)/,
  );
});

test('a clouds.yaml the yaml parser warns about emits no warning (it would quote the line on stderr)', () => {
  const l = layout();
  const file = join(l.dir, 'clouds.yaml');
  writeFileSync(
    file,
    `clouds:\n  c:\n    auth:\n      auth_url: http://k:5000/v3\n      username: u\n      user_domain_id: default\n      password: !tagged ${SECRET}\n`,
  );
  const warnings: unknown[] = [];
  const original = process.emitWarning;
  process.emitWarning = ((w: unknown) => warnings.push(w)) as typeof process.emitWarning;
  try {
    loadCredentials({ file, cloud: 'c', env: {} });
  } finally {
    process.emitWarning = original;
  }
  assert.deepEqual(warnings, []);
});

test('cacert, cert/key and verify of a clouds.yaml cloud, and OS_* overrides, reach the credentials', () => {
  const l = layout();
  const file = join(l.dir, 'clouds.yaml');
  writeFileSync(
    file,
    `clouds:\n  c:\n    cacert: /etc/ca.pem\n    cert: /etc/c.pem\n    key: /etc/k.pem\n    auth:\n      auth_url: https://k:5000/v3\n      username: u\n      user_domain_id: default\n      password: p\n`,
  );
  assert.deepEqual(loadCredentials({ file, cloud: 'c', env: {} }).tls, {
    verify: true,
    caFile: '/etc/ca.pem',
    certFile: '/etc/c.pem',
    keyFile: '/etc/k.pem',
  });
  assert.equal(loadCredentials({ file, cloud: 'c', env: { OS_INSECURE: 'true' } }).tls?.verify, false);
});
