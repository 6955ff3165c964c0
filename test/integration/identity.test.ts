/**
 * Identity against the real Keystone of the test environment: token reuse across processes (counted
 * in Keystone's own log), transparent re-authentication, typed errors that never leak the
 * password, application credentials, scoping and the catalog.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { IdentityError, InputError } from '../../src/errors/index.ts';
import {
  type Credentials,
  createSession,
  credentialsFromObject,
  loadCredentials,
  revokeToken,
  type Session,
} from '../../src/identity/index.ts';
import { createLogger } from '../../src/log/index.ts';
import { ensureEnv, PROJECT_ROOT } from '../support/env.ts';

const env = ensureEnv();
const tmp = mkdtempSync(join(tmpdir(), 'nnt-idn-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(tmp, `cache-${dirs++}`);

const adminCreds = (): Credentials => loadCredentials({ file: env.cloudsYaml, cloud: env.cloud, env: {} });
function adminPassword(): string {
  const c = adminCreds();
  assert.ok(c.method === 'password');
  return c.password;
}
const admin = createSession(adminCreds(), { cacheDir: null });
const KEYSTONE_LOG = join(env.dir, 'openstack/keystone/log/uwsgi.log');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An authenticated call to Keystone's own API with the admin session. */
async function keystone(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await admin.request(`${env.keystoneUrl}${path}`, { method, body });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function networksStatus(s: Session): Promise<number> {
  const res = await s.request(`${await s.endpoint('network')}/v2.0/networks?limit=1`);
  await res.arrayBuffer();
  return res.status;
}

/**
 * POST /v3/auth/tokens lines in Keystone's uwsgi log made with this user agent. uwsgi logs no
 * header values, but it logs the size of the request's variables: a user agent thousands of bytes
 * long makes ours recognisable among other clients' requests.
 */
function keystoneAuthsBy(userAgent: string): number {
  let n = 0;
  for (const line of readFileSync(KEYSTONE_LOG, 'utf8').split('\n')) {
    const m = /\{\d+ vars in (\d+) bytes\} \[[^\]]*\] POST \/v3\/auth\/tokens /.exec(line);
    if (!m) continue;
    const bytes = Number(m[1]);
    if (bytes >= userAgent.length && bytes < userAgent.length + 1000) n++;
  }
  return n;
}

function longUserAgent(): string {
  const len = 3000 + Math.floor(Math.random() * 2000);
  return `nnet-test-idn-${randomBytes(len).toString('base64url')}`.slice(0, len);
}

interface ChildResult {
  status: number;
  source: string;
  issued: number;
  tokenDigest: string;
}
async function child(cacheDir: string, userAgent: string): Promise<ChildResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(PROJECT_ROOT, 'test/support/keystone-child.ts')],
    {
      cwd: PROJECT_ROOT,
      env: {
        PATH: process.env.PATH,
        NNT_CREDS_FILE: env.cloudsYaml,
        NNT_CLOUD: env.cloud,
        NNT_CACHE_DIR: cacheDir,
        NNT_USER_AGENT: userAgent,
      },
      timeout: 60_000,
    },
  );
  return JSON.parse(stdout.trim()) as ChildResult;
}

test('a token is issued once and reused by a second process (Keystone serves one POST /v3/auth/tokens)', async () => {
  const cacheDir = freshDir();
  const ua = longUserAgent();
  const before = keystoneAuthsBy(ua);
  const first = await child(cacheDir, ua);
  assert.equal(first.status, 200);
  assert.equal(first.source, 'keystone');
  assert.equal(first.issued, 1);
  // uwsgi writes its log line after the reply; give it a moment.
  for (let i = 0; i < 20 && keystoneAuthsBy(ua) === before; i++) await sleep(100);
  assert.equal(keystoneAuthsBy(ua), before + 1, 'the first process authenticated once');

  const second = await child(cacheDir, ua);
  assert.equal(second.status, 200);
  assert.equal(second.source, 'cache');
  assert.equal(second.issued, 0);
  assert.equal(second.tokenDigest, first.tokenDigest);
  await sleep(500);
  assert.equal(keystoneAuthsBy(ua), before + 1, 'the second process did not authenticate');

  const files = readdirSync(cacheDir);
  assert.equal(files.length, 1);
  assert.equal(statSync(join(cacheDir, files[0]!)).mode & 0o777, 0o600);
});

test('a revoked token is replaced transparently: the request succeeds after one re-authentication', async () => {
  const cacheDir = freshDir();
  const s = createSession(adminCreds(), { cacheDir });
  const revoked = await s.token();
  assert.equal(s.issued, 1);
  // Revoke before Neutron has ever seen (and cached) this token.
  await revokeToken(env.keystoneUrl, revoked, revoked);
  assert.equal(await networksStatus(s), 200);
  assert.equal(s.issued, 2);
  const current = await s.token();
  assert.notEqual(current, revoked);
  // The next process finds the new token, not the revoked one.
  const next = createSession(adminCreds(), { cacheDir });
  assert.equal(await next.token(), current);
  assert.equal(next.source, 'cache');
});

test('an invalid token in the cache is rejected by Neutron and replaced transparently', async () => {
  const cacheDir = freshDir();
  const seed = createSession(adminCreds(), { cacheDir });
  await seed.token();
  const file = join(cacheDir, readdirSync(cacheDir)[0]!);
  const stored = JSON.parse(readFileSync(file, 'utf8')) as { token: string };
  writeFileSync(
    file,
    JSON.stringify({ ...stored, token: `gAAAAAB${randomBytes(60).toString('base64url')}` }),
    {
      mode: 0o600,
    },
  );

  const s = createSession(adminCreds(), { cacheDir });
  assert.equal(await networksStatus(s), 200);
  assert.equal(s.issued, 1, 'one new token after the 401');
  const fixed = JSON.parse(readFileSync(file, 'utf8')) as { token: string };
  assert.equal(fixed.token, await s.token());
});

test('a corrupt cache file is ignored and replaced by a fresh token', async () => {
  const cacheDir = freshDir();
  const seed = createSession(adminCreds(), { cacheDir });
  await seed.token();
  const file = join(cacheDir, readdirSync(cacheDir)[0]!);
  writeFileSync(file, '{"v":1,"token":', { mode: 0o600 });
  const s = createSession(adminCreds(), { cacheDir });
  assert.equal(await networksStatus(s), 200);
  assert.equal(s.source, 'keystone');
  assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { token: string }).token, await s.token());
});

test('a world-writable cache directory is tightened to 0700; a token file others could write is not used', async () => {
  const cacheDir = freshDir();
  mkdirSync(cacheDir, { mode: 0o777 });
  chmodSync(cacheDir, 0o777);
  const seed = createSession(adminCreds(), { cacheDir });
  const token = await seed.token();
  assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
  // What someone who could write the directory or the file would do: leave a token of theirs.
  const file = join(cacheDir, readdirSync(cacheDir)[0]!);
  chmodSync(file, 0o666);
  const s = createSession(adminCreds(), { cacheDir });
  assert.equal(await networksStatus(s), 200);
  assert.equal(s.source, 'keystone', 'the 0666 file was not read');
  assert.notEqual(await s.token(), token);
  assert.equal(statSync(file).mode & 0o777, 0o600, 'replaced by a 0600 file');
});

test('a cache directory owned by another user is refused before any token is read or written', async () => {
  const cacheDir = freshDir();
  mkdirSync(cacheDir, { mode: 0o700 });
  chownSync(cacheDir, 65534, 65534);
  const s = createSession(adminCreds(), { cacheDir });
  await assert.rejects(
    s.token(),
    (e: unknown) =>
      e instanceof InputError &&
      e.reason === 'invalid-config' &&
      e.message.includes(`token cache directory ${cacheDir} is owned by uid 65534`),
  );
  assert.equal(s.issued, 0, 'Keystone was not asked');
  assert.deepEqual(readdirSync(cacheDir), []);
});

test('a token within the expiry margin is not reused', async () => {
  const cacheDir = freshDir();
  const first = createSession(adminCreds(), { cacheDir });
  const token = await first.token();
  const reuse = createSession(adminCreds(), { cacheDir });
  assert.equal(await reuse.token(), token);
  assert.equal(reuse.source, 'cache');
  // Tokens here live 24 h; a 25 h margin makes every cached token "about to expire".
  const strict = createSession(adminCreds(), { cacheDir, expiryMarginMs: 25 * 3600_000 });
  assert.notEqual(await strict.token(), token);
  assert.equal(strict.source, 'keystone');
});

test('a wrong password is a rejected IdentityError naming user and Keystone URL, never the password', async () => {
  const password = `nnt-idn-wrong-${randomBytes(12).toString('hex')}`;
  const logFile = join(tmp, 'wrong-password.log');
  const cacheDir = freshDir();
  const creds = credentialsFromObject({
    auth: {
      auth_url: env.keystoneUrl,
      username: 'admin',
      password,
      user_domain_id: 'default',
      project_name: 'admin',
      project_domain_id: 'default',
    },
  });
  const s = createSession(creds, {
    cacheDir,
    logger: createLogger({ file: logFile, component: 'test', level: 'debug' }),
  });
  let err: unknown;
  try {
    await s.request(`${env.neutronUrl}/v2.0/networks`);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof IdentityError, String(err));
  assert.equal(err.reason, 'rejected');
  assert.equal(err.retryable, false);
  assert.ok(err.message.includes('user "admin"'), err.message);
  assert.ok(err.message.includes(env.keystoneUrl), err.message);
  const log = readFileSync(logFile, 'utf8');
  assert.match(log, /authentication failed/);
  const everything = [
    err.message,
    err.details ?? '',
    err.stack ?? '',
    String(err.cause ?? ''),
    JSON.stringify(err),
    log,
  ];
  assert.ok(!everything.join('\n').includes(password), 'the password appears nowhere');
  assert.deepEqual(existsSync(cacheDir) ? readdirSync(cacheDir) : [], [], 'nothing cached');
});

test('an application credential authenticates (by id, and by name with its user) and reaches Neutron', async (t) => {
  const state = await admin.auth();
  const name = `nnt-idn-${randomBytes(4).toString('hex')}`;
  const created = (await keystone('POST', `/users/${state.user.id}/application_credentials`, {
    application_credential: { name, description: 'N-Net identity test' },
  })) as { application_credential: { id: string; secret: string } };
  const ac = created.application_credential;
  t.after(() => keystone('DELETE', `/users/${state.user.id}/application_credentials/${ac.id}`));

  const byId = createSession(
    credentialsFromObject({
      auth_type: 'v3applicationcredential',
      auth: {
        auth_url: env.keystoneUrl,
        application_credential_id: ac.id,
        application_credential_secret: ac.secret,
      },
      region_name: env.region,
    }),
    { cacheDir: freshDir() },
  );
  assert.equal(await networksStatus(byId), 200);
  assert.equal((await byId.auth()).project?.id, state.project?.id);

  const byName = createSession(
    credentialsFromObject({
      auth_type: 'v3applicationcredential',
      auth: {
        auth_url: env.keystoneUrl,
        application_credential_name: name,
        application_credential_secret: ac.secret,
        username: 'admin',
        user_domain_id: 'default',
      },
    }),
    { cacheDir: null },
  );
  assert.equal((await byName.auth()).user.id, state.user.id);

  const wrong = createSession(
    credentialsFromObject({
      auth_type: 'v3applicationcredential',
      auth: {
        auth_url: env.keystoneUrl,
        application_credential_id: ac.id,
        application_credential_secret: 'nope',
      },
    }),
    { cacheDir: null },
  );
  await assert.rejects(wrong.token(), (e: unknown) => {
    assert.ok(e instanceof IdentityError && e.reason === 'rejected');
    assert.ok(e.message.includes(`application credential ${ac.id}`) && !e.message.includes(ac.secret));
    return true;
  });
});

test('clouds.yaml via OS_CLOUD and the openrc OS_* variables authenticate the same user and project', async () => {
  const empty = join(tmp, 'empty-home');
  const viaCloud = loadCredentials({
    env: { OS_CLOUD: env.cloud, OS_CLIENT_CONFIG_FILE: env.cloudsYaml },
    cwd: empty,
    home: empty,
    siteDirs: [],
  });
  const viaEnv = loadCredentials({ env: env.osEnv, cwd: empty, home: empty, siteDirs: [] });
  assert.equal(viaEnv.source, 'OS_* environment variables');
  const [a, b] = await Promise.all([
    createSession(viaCloud, { cacheDir: null }).auth(),
    createSession(viaEnv, { cacheDir: null }).auth(),
  ]);
  assert.equal(a.user.id, b.user.id);
  assert.equal(a.project?.id, b.project?.id);
  assert.equal(a.project?.name, 'admin');
});

test('project, domain and system scope give tokens scoped accordingly', async (t) => {
  const state = await admin.auth();
  const roles = (await keystone('GET', '/roles?name=admin')) as { roles: { id: string }[] };
  const roleId = roles.roles[0]!.id;
  // A domain-scoped token needs a role on the domain; grant it for this test only if missing.
  const grant = `/domains/default/users/${state.user.id}/roles/${roleId}`;
  const had = (await admin.request(`${env.keystoneUrl}${grant}`, { method: 'HEAD' })).status === 204;
  if (!had) {
    await keystone('PUT', grant);
    t.after(() => keystone('DELETE', grant));
  }
  const base = { auth_url: env.keystoneUrl, username: 'admin', user_domain_id: 'default' };
  const password = adminPassword();
  const domain = await createSession(credentialsFromObject({ ...base, password, domain_id: 'default' }), {
    cacheDir: null,
  }).auth();
  assert.equal(domain.domain?.id, 'default');
  assert.equal(domain.project, undefined);
  const project = await createSession(
    credentialsFromObject({ ...base, password, project_id: state.project!.id }),
    { cacheDir: null },
  ).auth();
  assert.equal(project.project?.id, state.project!.id);
  const system = await createSession(credentialsFromObject({ ...base, password, system_scope: 'all' }), {
    cacheDir: null,
  }).auth();
  assert.equal(system.project, undefined);
  assert.equal(system.domain, undefined);
  assert.ok(system.catalog.length > 0);
});

test('the catalog gives the network endpoint by interface and region; an unknown service is no-endpoint', async () => {
  assert.equal(await admin.endpoint('network'), env.neutronUrl);
  assert.equal(
    await admin.endpoint('network', { interface: 'internal', region: env.region }),
    env.neutronUrl,
  );
  await assert.rejects(admin.endpoint('network', { region: 'NoSuchRegion' }), (e: unknown) => {
    assert.ok(e instanceof IdentityError && e.reason === 'no-endpoint');
    assert.match(e.message, /no network endpoint for interface public, region NoSuchRegion/);
    return true;
  });
  await assert.rejects(
    admin.endpoint('object-store'),
    (e: unknown) => e instanceof IdentityError && e.reason === 'no-endpoint',
  );
});

test('Keystone unreachable is a retryable unreachable IdentityError', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  const c = credentialsFromObject({ auth_url: `http://127.0.0.1:${port}/v3`, user_id: 'u', password: 'p' });
  const s = createSession(c, { cacheDir: null, authRetries: 1 });
  await assert.rejects(s.token(), (e: unknown) => {
    assert.ok(e instanceof IdentityError && e.reason === 'unreachable' && e.retryable);
    assert.match(
      e.message,
      new RegExp(`Keystone at http://127.0.0.1:${port}/v3 is unreachable: connection refused`),
    );
    return true;
  });
});

test('Keystone answers with Connection: close and a session still makes many calls in a row', async () => {
  const res = await fetch(env.keystoneUrl);
  await res.arrayBuffer();
  assert.equal(res.headers.get('connection'), 'close');
  const s = createSession(adminCreds(), { cacheDir: null });
  for (let i = 0; i < 5; i++) {
    const r = await s.request(`${env.keystoneUrl}/auth/projects`);
    await r.arrayBuffer();
    assert.equal(r.status, 200);
  }
  assert.equal(s.issued, 1);
});
