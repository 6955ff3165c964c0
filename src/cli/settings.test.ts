import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveSettings } from './settings.ts';

test('flags win over NNET_* variables, which win over the defaults', () => {
  const env = { HOME: '/home/u', NNET_STORE: 'sqlite:/env.db', NNET_CLUSTER: 'from-env' };
  const fromEnv = resolveSettings(env);
  assert.equal(fromEnv.storeUrl, 'sqlite:/env.db');
  assert.equal(fromEnv.cluster, 'from-env');
  assert.equal(fromEnv.clusterFrom, 'NNET_CLUSTER');
  assert.equal(fromEnv.tokenCacheDir, '/home/u/.cache/nnet/tokens');
  const fromFlags = resolveSettings(env, { store: 'etcd:http://e:2379', cluster: 'flag', osCloud: 'lab' });
  assert.equal(fromFlags.storeUrl, 'etcd:http://e:2379');
  assert.equal(fromFlags.cluster, 'flag');
  assert.equal(fromFlags.clusterFrom, '--cluster');
  assert.equal(fromFlags.osCloud, 'lab');
});

test('without flags or variables: the default store, no cluster named, NNET_TOKEN_CACHE_DIR honoured', () => {
  const s = resolveSettings({ HOME: '/root', NNET_STORE: '', NNET_TOKEN_CACHE_DIR: '/tmp/tok' });
  assert.equal(s.storeUrl, 'sqlite:/var/lib/nnet/nnet.db');
  assert.equal(s.cluster, undefined);
  assert.equal(s.clusterFrom, undefined);
  assert.equal(s.tokenCacheDir, '/tmp/tok');
});
