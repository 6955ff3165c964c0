/**
 * Where kubenetctl finds N-Net's state and the user's OpenStack credentials: flags first, then
 * the environment, then defaults. Pure: the environment is passed in.
 *
 *   resolveSettings({ NNET_STORE: 'sqlite:/tmp/n.db', HOME: '/root' }, { cluster: 'prod' })
 *   // { storeUrl: 'sqlite:/tmp/n.db', cluster: 'prod', clusterFrom: '--cluster',
 *   //   osCloud: undefined, tokenCacheDir: '/root/.cache/nnet/tokens', env: … }
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_STORE_URL } from '../store/index.ts';
import type { Scope } from './types.ts';

export interface NnetSettings {
  /** `--store`, else $NNET_STORE, else sqlite:/var/lib/nnet/nnet.db. */
  storeUrl: string;
  /** `--cluster`, else $NNET_CLUSTER; undefined = the only registered cluster. */
  cluster: string | undefined;
  /** Where the cluster name came from, for messages. */
  clusterFrom: '--cluster' | 'NNET_CLUSTER' | undefined;
  /** `--os-cloud`; undefined = as the openstack CLI: $OS_CLOUD, clouds.yaml, OS_*. */
  osCloud: string | undefined;
  /** $NNET_TOKEN_CACHE_DIR, else ~/.cache/nnet/tokens (created 0700). */
  tokenCacheDir: string;
  env: NodeJS.ProcessEnv;
}

const set = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

export function resolveSettings(env: NodeJS.ProcessEnv, scope: Scope = {}): NnetSettings {
  const cluster = scope.cluster ?? set(env.NNET_CLUSTER);
  return {
    storeUrl: scope.store ?? set(env.NNET_STORE) ?? DEFAULT_STORE_URL,
    cluster,
    clusterFrom:
      scope.cluster !== undefined ? '--cluster' : cluster !== undefined ? 'NNET_CLUSTER' : undefined,
    osCloud: scope.osCloud,
    tokenCacheDir:
      set(env.NNET_TOKEN_CACHE_DIR) ?? join(set(env.HOME) ?? homedir(), '.cache', 'nnet', 'tokens'),
    env,
  };
}
