/**
 * The Store, built once over any Backend: typed collections that stamp, validate, encode and
 * decode records. Backend-specific behaviour (locking, compare-and-swap) stays in the backends.
 */
import { InputError, StoreError } from '../errors/index.ts';
import type { Backend, RowFilter } from './backend.ts';
import { decodeRecord, describeKey, encodeRecord, keyOf } from './codec.ts';
import {
  type Attachment,
  type AttachmentInput,
  type AttachmentKey,
  type Cluster,
  type ClusterInput,
  type ManagedResource,
  type ManagedResourceInput,
  type NodeKey,
  type NodeRecord,
  type NodeRecordInput,
  type PodKey,
  type PodNetworkConfig,
  type PodNetworkConfigInput,
  type ResourceKey,
  type ResourceKind,
  TABLES,
  type Table,
} from './types.ts';

export interface Store {
  /** The URL the store was opened with. */
  readonly location: string;
  readonly backend: 'sqlite' | 'etcd';
  readonly clusters: {
    /** Creates or replaces; keeps the first `createdAt`. */
    put(cluster: ClusterInput): Promise<Cluster>;
    get(name: string): Promise<Cluster | undefined>;
    list(): Promise<Cluster[]>;
    /** Atomic read-modify-write (compare-and-swap), as for pod configs. */
    update(name: string, fn: UpdateFn<Cluster, ClusterInput>): Promise<Cluster | undefined>;
    delete(name: string): Promise<boolean>;
  };
  readonly resources: {
    put(resource: ManagedResourceInput): Promise<ManagedResource>;
    get(key: ResourceKey): Promise<ManagedResource | undefined>;
    list(filter?: { kind?: ResourceKind; cluster?: string }): Promise<ManagedResource[]>;
    delete(key: ResourceKey): Promise<boolean>;
  };
  readonly podConfigs: {
    /** StoreError('conflict') when the pod already has a config. */
    create(config: PodNetworkConfigInput): Promise<PodNetworkConfig>;
    put(config: PodNetworkConfigInput): Promise<PodNetworkConfig>;
    get(key: PodKey): Promise<PodNetworkConfig | undefined>;
    list(filter?: { cluster?: string }): Promise<PodNetworkConfig[]>;
    update(
      key: PodKey,
      fn: UpdateFn<PodNetworkConfig, PodNetworkConfigInput>,
    ): Promise<PodNetworkConfig | undefined>;
    delete(key: PodKey): Promise<boolean>;
  };
  readonly nodes: {
    get(key: NodeKey): Promise<NodeRecord | undefined>;
    list(filter?: { cluster?: string }): Promise<NodeRecord[]>;
    update(key: NodeKey, fn: UpdateFn<NodeRecord, NodeRecordInput>): Promise<NodeRecord | undefined>;
    delete(key: NodeKey): Promise<boolean>;
  };
  readonly attachments: {
    /** StoreError('conflict') when (containerId, ifname) is already recorded. */
    create(attachment: AttachmentInput): Promise<Attachment>;
    get(key: AttachmentKey): Promise<Attachment | undefined>;
    list(filter?: { node?: string; cluster?: string }): Promise<Attachment[]>;
    update(key: AttachmentKey, fn: UpdateFn<Attachment, AttachmentInput>): Promise<Attachment | undefined>;
    delete(key: AttachmentKey): Promise<boolean>;
  };
  close(): Promise<void>;
}

/**
 * Gets the current record (undefined when absent) and returns the new one, or undefined to leave
 * the row as it is. Runs atomically against concurrent writers; may run more than once, so it
 * must only compute.
 */
export type UpdateFn<R, I> = (current: R | undefined) => I | undefined;

type Stamped = { createdAt: string; updatedAt?: string };

export function createStore(
  backend: Backend,
  kind: 'sqlite' | 'etcd',
  now = () => new Date().toISOString(),
): Store {
  let closed = false;
  const live = () => {
    if (closed) throw new Error(`store ${backend.location} is closed`);
  };

  function collection<R extends Stamped, I extends object>(table: Table<R>) {
    const stamp = (input: I, previous: R | undefined): R => {
      const at = now();
      const record = { ...input, createdAt: previous?.createdAt ?? at } as unknown as R;
      if (table.updatedAt) record.updatedAt = at;
      return record;
    };
    const decode = (key: readonly string[], data: string) => decodeRecord(table, key, data, backend.location);

    const update = async (key: string[], fn: UpdateFn<R, I>): Promise<R | undefined> => {
      live();
      const data = await backend.update(table, key, (current) => {
        const previous = current === undefined ? undefined : decode(key, current);
        const next = fn(previous);
        if (next === undefined) return undefined;
        const record = stamp(next, previous);
        const nextKey = keyOf(table, record);
        if (nextKey.some((p, i) => p !== key[i]))
          throw new InputError(
            'invalid-argument',
            `update of ${describeKey(table, key)} cannot change its key to "${nextKey.join('/')}"`,
          );
        return encodeRecord(table, record);
      });
      return data === undefined ? undefined : decode(key, data);
    };

    return {
      async create(input: I): Promise<R> {
        live();
        const record = stamp(input, undefined);
        const key = keyOf(table, record);
        const row = encodeRecord(table, record);
        await backend.insert(table, key, row);
        return decode(key, row.data);
      },
      async put(input: I): Promise<R> {
        const key = keyOf(table, input as Partial<R>);
        const stored = await update(key, () => input);
        if (stored === undefined) throw new StoreError('not-found', `${describeKey(table, key)} vanished`);
        return stored;
      },
      async get(keyValue: Partial<R>): Promise<R | undefined> {
        live();
        const key = keyOf(table, keyValue);
        const data = await backend.get(table, key);
        return data === undefined ? undefined : decode(key, data);
      },
      async list(filter: Partial<Record<keyof R & string, string>> = {}): Promise<R[]> {
        live();
        const wanted = Object.entries(filter).filter((e): e is [string, string] => e[1] !== undefined);
        for (const [f] of wanted)
          if (
            !table.keyFields.includes(f as keyof R & string) &&
            !table.indexFields.includes(f as keyof R & string)
          )
            throw new Error(`${table.name} cannot be listed by ${f}`);
        const rows = await backend.list(table, Object.fromEntries(wanted) as RowFilter);
        return rows
          .map((row) => ({ key: row.key, record: decode(row.key, row.data) }))
          .filter(({ record }) => wanted.every(([f, v]) => (record as Record<string, unknown>)[f] === v))
          .sort((a, b) => compareKeys(a.key, b.key))
          .map(({ record }) => record);
      },
      update,
      async delete(keyValue: Partial<R>): Promise<boolean> {
        live();
        return backend.delete(table, keyOf(table, keyValue));
      },
    };
  }

  const clusters = collection<Cluster, ClusterInput>(TABLES.clusters);
  const resources = collection<ManagedResource, ManagedResourceInput>(TABLES.resources);
  const podConfigs = collection<PodNetworkConfig, PodNetworkConfigInput>(TABLES.podConfigs);
  const attachments = collection<Attachment, AttachmentInput>(TABLES.attachments);
  const nodes = collection<NodeRecord, NodeRecordInput>(TABLES.nodes);

  return {
    location: backend.location,
    backend: kind,
    clusters: {
      put: clusters.put,
      get: (name) => clusters.get({ name }),
      list: () => clusters.list(),
      update: (name, fn) => clusters.update(keyOf(TABLES.clusters, { name }), fn),
      delete: (name) => clusters.delete({ name }),
    },
    resources: {
      put: resources.put,
      get: resources.get,
      list: (filter) => resources.list(filter),
      delete: resources.delete,
    },
    podConfigs: {
      create: podConfigs.create,
      put: podConfigs.put,
      get: podConfigs.get,
      list: (filter) => podConfigs.list(filter),
      update: (key, fn) => podConfigs.update(keyOf(TABLES.podConfigs, key), fn),
      delete: podConfigs.delete,
    },
    nodes: {
      get: nodes.get,
      list: (filter) => nodes.list(filter),
      update: (key, fn) => nodes.update(keyOf(TABLES.nodes, key), fn),
      delete: nodes.delete,
    },
    attachments: {
      create: attachments.create,
      get: attachments.get,
      list: (filter) => attachments.list(filter),
      update: (key, fn) => attachments.update(keyOf(TABLES.attachments, key), fn),
      delete: attachments.delete,
    },
    async close() {
      if (closed) return;
      closed = true;
      await backend.close();
    },
  };
}

function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i]! < b[i]!) return -1;
    if (a[i]! > b[i]!) return 1;
  }
  return a.length - b.length;
}
