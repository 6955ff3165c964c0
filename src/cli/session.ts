/**
 * What one kubenetctl command talks to, opened lazily and at most once: N-Net's store, the
 * cluster the command is about, and Neutron with the user's own OpenStack credentials.
 */
import { existsSync } from 'node:fs';
import { IdentityError, InputError, StoreError } from '../errors/index.ts';
import { loadCredentials } from '../identity/index.ts';
import type { NeutronClient } from '../neutron/index.ts';
import { connect } from '../resources/index.ts';
import { type Cluster, openStore, parseStoreUrl, type Store } from '../store/index.ts';
import type { NnetSettings } from './settings.ts';

export const KEYSTONE_TIMEOUT_MS = 15_000;
export const NEUTRON_TIMEOUT_MS = 30_000;

export interface NnetSession {
  readonly settings: NnetSettings;
  /** The store, created when it does not exist yet (registering a cluster). */
  store(): Promise<Store>;
  /** The store if it exists; undefined for a SQLite file not created yet (nothing registered). */
  existingStore(): Promise<Store | undefined>;
  /** The cluster the command is about: named by --cluster/NNET_CLUSTER, else the only one. */
  cluster(): Promise<Cluster>;
  /** Like cluster(), but undefined when none is registered at all and none was named. */
  configuredCluster(): Promise<Cluster | undefined>;
  /** Neutron, authenticated with the user's own credentials (clouds.yaml / OS_CLOUD / OS_*). */
  neutron(): Promise<NeutronClient>;
  close(): Promise<void>;
}

export function openSession(settings: NnetSettings): NnetSession {
  let store: Promise<Store> | undefined;
  let neutron: Promise<NeutronClient> | undefined;
  let cluster: Promise<Cluster | undefined> | undefined;

  const exists = (): boolean => {
    const where = parseStoreUrl(settings.storeUrl);
    return where.backend !== 'sqlite' || existsSync(where.path);
  };
  const openOnce = (): Promise<Store> => {
    store ??= openStore(settings.storeUrl);
    return store;
  };
  const existingStore = async (): Promise<Store | undefined> =>
    store !== undefined || exists() ? openOnce() : undefined;

  const findCluster = async (): Promise<Cluster | undefined> => {
    const s = await existingStore();
    const where = `the N-Net store ${settings.storeUrl}`;
    if (settings.cluster !== undefined) {
      const found = s ? await s.clusters.get(settings.cluster) : undefined;
      if (!found)
        throw new StoreError(
          'not-registered',
          `cluster "${settings.cluster}" (from ${settings.clusterFrom}) is not registered in ${where}`,
        );
      return found;
    }
    const all = s ? await s.clusters.list() : [];
    if (all.length === 1) return all[0];
    if (all.length === 0) return undefined;
    throw new InputError(
      'invalid-argument',
      `${where} has ${all.length} clusters (${all.map((c) => c.name).join(', ')}): choose one with --cluster or NNET_CLUSTER`,
    );
  };

  return {
    settings,
    store: openOnce,
    existingStore,
    configuredCluster: () => {
      cluster ??= findCluster();
      return cluster;
    },
    async cluster() {
      cluster ??= findCluster();
      const found = await cluster;
      if (!found)
        throw new StoreError(
          'not-registered',
          `no cluster is registered in the N-Net store ${settings.storeUrl}${exists() ? '' : ' (it does not exist yet)'}`,
        );
      return found;
    },
    neutron() {
      neutron ??= (async () => {
        let credentials: ReturnType<typeof loadCredentials>;
        try {
          credentials = loadCredentials({ cloud: settings.osCloud, env: settings.env });
        } catch (e) {
          if (e instanceof IdentityError && e.reason === 'no-credentials')
            throw new IdentityError(
              'no-credentials',
              `kubenetctl needs your OpenStack credentials: ${e.message}`,
              {
                cause: e,
              },
            );
          throw e;
        }
        // The session makes the token cache directory this user's alone, or refuses it (src/identity cache.ts).
        const { neutron: client } = await connect(credentials, {
          tokenCacheDir: settings.tokenCacheDir,
          keystoneTimeoutMs: KEYSTONE_TIMEOUT_MS,
          neutronTimeoutMs: NEUTRON_TIMEOUT_MS,
        });
        return client;
      })();
      return neutron;
    },
    async close() {
      if (!store) return;
      const s = await store.catch(() => undefined);
      await s?.close();
    },
  };
}
