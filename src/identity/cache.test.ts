import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { InputError } from '../errors/index.ts';
import { cacheFile, cacheKey, dropCache, readCache, secureCacheDir, writeCache } from './cache.ts';
import { credentialsFromFlat } from './credentials.ts';
import type { AuthState } from './keystone.ts';

const dir = mkdtempSync(join(tmpdir(), 'nnt-idn-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const base = {
  auth_url: 'http://ks/v3',
  username: 'u',
  user_domain_id: 'default',
  project_id: 'p',
  password: 'pw1',
};
const creds = (over: Record<string, string> = {}) => credentialsFromFlat({ ...base, ...over }, 'test');

const state: AuthState = {
  token: 'gAAAAAB-token-value',
  expiresAt: new Date('2030-01-01T00:00:00Z'),
  issuedAt: new Date('2029-12-31T00:00:00Z'),
  catalog: [
    {
      type: 'network',
      name: 'neutron',
      endpoints: [{ url: 'http://n:9696', interface: 'public', region: 'R1' }],
    },
  ],
  user: { id: 'uid', name: 'u' },
  project: { id: 'pid', name: 'p', domainId: 'default' },
  domain: undefined,
};

test('the cache key changes with the password, the user, the scope and the auth URL', () => {
  const k = cacheKey(creds());
  assert.equal(cacheKey(creds()), k);
  assert.notEqual(cacheKey(creds({ password: 'pw2' })), k);
  assert.notEqual(cacheKey(creds({ username: 'v' })), k);
  assert.notEqual(cacheKey(creds({ project_id: 'q' })), k);
  assert.notEqual(cacheKey(creds({ auth_url: 'http://other/v3' })), k);
  assert.ok(!cacheFile(dir, creds()).includes('pw1'));
});

test('a written cache file is 0600, replaced atomically, and reads back the same state', () => {
  const f = cacheFile(join(dir, 'sub'), creds());
  writeCache(f, join(dir, 'sub'), state);
  assert.equal(statSync(f).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700);
  assert.deepEqual(readCache(f), state);
  writeCache(f, join(dir, 'sub'), { ...state, token: 'second' });
  assert.equal(readCache(f)?.token, 'second');
  assert.deepEqual(readdirSync(join(dir, 'sub')), [f.split('/').at(-1)], 'no temporary file left behind');
});

test('a corrupt or foreign cache file reads as a miss', () => {
  const f = join(dir, 'corrupt.json');
  for (const content of [
    '{not json',
    '[]',
    '{"v":1}',
    JSON.stringify({ v: 1, token: 'x', expiresAt: 'soon' }),
    '',
  ]) {
    writeFileSync(f, content);
    assert.equal(readCache(f), undefined, content);
  }
  assert.equal(readCache(join(dir, 'absent.json')), undefined);
});

test('dropping a rejected token removes the file only if it still holds that token', () => {
  const f = join(dir, 'drop.json');
  writeCache(f, dir, state);
  dropCache(f, 'some-other-token');
  assert.equal(readCache(f)?.token, state.token);
  dropCache(f, state.token);
  assert.throws(() => readFileSync(f), /ENOENT/);
});

// The tests run as root (the plugin's user); "another user" is nobody (uid 65534).
const NOBODY = 65534;

test('a pre-existing cache directory of mode 0777 is tightened to 0700 before anything is written', () => {
  const d = join(dir, 'loose');
  mkdirSync(d, { mode: 0o777 });
  chmodSync(d, 0o777);
  writeCache(cacheFile(d, creds()), d, state);
  assert.equal(statSync(d).mode & 0o777, 0o700);
  const d2 = join(dir, 'loose-read');
  mkdirSync(d2);
  chmodSync(d2, 0o755);
  secureCacheDir(d2);
  assert.equal(statSync(d2).mode & 0o777, 0o700);
});

test('a cache directory owned by another user is refused, naming it, and nothing is written there', () => {
  const d = join(dir, 'foreign');
  mkdirSync(d, { mode: 0o700 });
  chownSync(d, NOBODY, NOBODY);
  assert.throws(
    () => secureCacheDir(d),
    (e: unknown) =>
      e instanceof InputError &&
      e.reason === 'invalid-config' &&
      e.message.includes(`token cache directory ${d} is owned by uid ${NOBODY}, not by this user`),
  );
  assert.throws(() => writeCache(cacheFile(d, creds()), d, state), /is owned by uid 65534/);
  assert.deepEqual(readdirSync(d), []);
  // A symlink to one's own directory is fine; a symlink someone else made is not.
  const mine = join(dir, 'mine');
  mkdirSync(mine, { mode: 0o700 });
  symlinkSync(mine, join(dir, 'link-to-mine'));
  secureCacheDir(join(dir, 'link-to-mine'));
  symlinkSync(mine, join(dir, 'their-link'));
  lchownSync(join(dir, 'their-link'), NOBODY, NOBODY);
  assert.throws(() => secureCacheDir(join(dir, 'their-link')), /is a symlink owned by uid 65534/);
  writeFileSync(join(dir, 'a-file'), '');
  assert.throws(() => secureCacheDir(join(dir, 'a-file')), /is not a directory|EEXIST|ENOTDIR/);
});

test('a token file that others can write, or that another user owns, or a symlink, is never read', () => {
  const d = join(dir, 'planted');
  const f = cacheFile(d, creds());
  writeCache(f, d, state);
  assert.equal(readCache(f)?.token, state.token);
  for (const mode of [0o622, 0o602, 0o666, 0o620]) {
    chmodSync(f, mode);
    assert.equal(readCache(f), undefined, mode.toString(8));
  }
  chmodSync(f, 0o600);
  chownSync(f, NOBODY, NOBODY);
  assert.equal(readCache(f), undefined, "another user's file");
  chownSync(f, 0, 0);
  assert.equal(readCache(f)?.token, state.token);
  const link = join(d, 'link.json');
  symlinkSync(f, link);
  assert.equal(readCache(link), undefined, 'a symlink is not followed');
});
