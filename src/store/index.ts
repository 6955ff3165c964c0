/**
 * N-Net's own database (the paper's information storage submodule): clusters and their Keystone
 * identity, the Neutron resources N-Net manages, per-pod network configs, and the attachments
 * ADD made. One interface, two backends: SQLite (a file per node, the default) and etcd v3.
 *
 *   const store = await openStore('sqlite:/var/lib/nnet/nnet.db'); // or 'etcd:http://10.0.0.1:2379'
 *   try {
 *     const config = await store.podConfigs.get({ cluster: 'c1', namespace: 'default', pod: 'web-0' });
 *     await store.attachments.create({ containerId, ifname: 'eth0', …, portId: port.id });
 *   } finally {
 *     await store.close();
 *   }
 *
 * Failures are StoreError: 'unavailable' (etcd unreachable, SQLite locked past the busy
 * timeout; retryable), 'conflict' (create of an existing key), 'corrupt' (not a database, a row
 * that does not validate, a schema newer than this code). See README.md.
 */
import type { Logger } from '../log/index.ts';
import type { Store } from './store.ts';
import { DEFAULT_STORE_URL, parseStoreUrl } from './url.ts';

export type { Store, UpdateFn } from './store.ts';
export type {
  Attachment,
  AttachmentInput,
  AttachmentIp,
  AttachmentKey,
  AttachmentRoute,
  Cluster,
  ClusterCredentials,
  ClusterInput,
  ManagedResource,
  ManagedResourceInput,
  NodeKey,
  NodePort,
  NodeRecord,
  NodeRecordInput,
  PodKey,
  PodNetworkConfig,
  PodNetworkConfigInput,
  PodNicConfig,
  PoolRecord,
  PoolSettings,
  ResourceKey,
  ResourceKind,
} from './types.ts';
export { DEFAULT_SERVICE_CIDRS, POOL_LIMITS } from './types.ts';
export { DEFAULT_STORE_URL, type EtcdAuth, type EtcdTls, parseStoreUrl, type StoreLocation } from './url.ts';

export interface OpenStoreOptions {
  /** SQLite: how long to wait for another process's write lock (default 5000 ms). */
  busyTimeoutMs?: number;
  /** etcd: per-request timeout before trying the next endpoint (default 2000 ms). */
  timeoutMs?: number;
  logger?: Logger;
}

/**
 * Opens (creating and migrating as needed) the store at `url`:
 * `sqlite:/abs/path.db` or `etcd:http://host:2379[,http://host2:2379][?prefix=/nnet]`.
 * Only the chosen backend's code is loaded.
 */
export async function openStore(
  url: string = DEFAULT_STORE_URL,
  options: OpenStoreOptions = {},
): Promise<Store> {
  const where = parseStoreUrl(url);
  const { createStore } = await import('./store.ts');
  if (where.backend === 'sqlite') {
    const { openSqlite } = await import('./sqlite.ts');
    const backend = await openSqlite(where.path, {
      busyTimeoutMs: options.busyTimeoutMs,
      logger: options.logger,
    });
    return createStore(backend, 'sqlite');
  }
  const { openEtcd } = await import('./etcd.ts');
  const backend = await openEtcd(where.endpoints, where.prefix, {
    timeoutMs: options.timeoutMs,
    logger: options.logger,
    tls: where.tls,
    auth: where.auth,
  });
  return createStore(backend, 'etcd');
}
