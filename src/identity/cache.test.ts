import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cacheFile, cacheKey, dropCache, readCache, writeCache } from './cache.ts';
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
