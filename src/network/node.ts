/**
 * A node's context from its settings (the plugin's config holds them): the store, the plug
 * settings, and a lazily authenticated Neutron client for the registered cluster. nnet-agent
 * opens one per node config and keeps it (openNodeContext); `kubenetctl gc --cni-config` and
 * one-shot runs open one for a single use (withNodeContext).
 */

import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { StoreError } from '../errors/index.ts';
import { type Credentials, loadCredentials } from '../identity/index.ts';
import type { Logger } from '../log/index.ts';
import type { NeutronClient, RequestPriority, RequestQueue } from '../neutron/index.ts';
import { parsePlugSettings } from '../plug/index.ts';
import { clusterCredentials, connect } from '../resources/index.ts';
import { type Cluster, openStore, type Store } from '../store/index.ts';
import type { NodeContext } from './context.ts';
import { type AttachmentLocks, createAttachmentLocks } from './locks.ts';
import type { PortPools } from './pools.ts';

function netnsPath(nameOrPath: string | undefined): string | undefined {
  if (nameOrPath === undefined) return undefined;
  return nameOrPath.startsWith('/') ? nameOrPath : `/run/netns/${nameOrPath}`;
}

/** What a node's context is built from: the fields of the plugin's config (NetConf) it needs. */
export interface NodeSettings {
  store: { url: string };
  cluster: string;
  nodeName: string;
  credentials:
    | { kind: 'clouds-yaml'; file: string; cloud: string }
    | { kind: 'openrc'; file: string }
    | undefined;
  network: string | undefined;
  subnet: string | undefined;
  plugDriver: 'internal' | 'hybrid' | 'vlan';
  nested?:
    | {
        parentPort: string | undefined;
        nic: string;
        vlanDevice: 'kernel' | 'ovs';
        nicNetns: string | undefined;
      }
    | undefined;
  bridge: string;
  datapathType: 'system' | 'netdev';
  ovsdbSocket: string;
  ovsNetns: string | undefined;
  mtu: number | undefined;
  serviceCidrs?: string[] | undefined;
  tokenCacheDir: string;
  timeouts: { keystoneMs: number; neutronMs?: number | undefined; storeMs: number; ovsdbMs: number };
}

/** A node's long-lived context: what every request on the node shares. */
export interface NodeHandle {
  readonly settings: NodeSettings;
  /**
   * One request's view of the node: its log and deadline (`signal`: every Neutron request of
   * ctx.neutron() ends when it aborts) over the shared store, OVSDB, Neutron session and locks.
   */
  context(o: { log: Logger; signal?: AbortSignal | undefined; priority?: RequestPriority }): NodeContext;
  /** Gives every context from now on the node's port pools (the agent's). */
  attachPools(pools: PortPools): void;
  close(): Promise<void>;
}

export interface OpenNodeOptions {
  /** The node's Neutron queue: every request of every context waits its turn there. */
  queue?: RequestQueue | undefined;
  /**
   * The node's attachment locks. Two configs of one node (the agent's, and a request's with other
   * timeouts, say) plug into the same bridge: their commands on one NIC must exclude each other.
   */
  locks?: AttachmentLocks | undefined;
}

/**
 * Opens the node's store and plug settings, and a Neutron connection made on first use and kept:
 * one Keystone session (its token reused until it expires), keep-alive HTTP through one client.
 * The connection is made again when the cluster's identity changes (its record in the store, or
 * the mtime of the credentials file the config names), so a re-registered cluster is picked up.
 */
export async function openNodeContext(
  conf: NodeSettings,
  log: Logger,
  opts: OpenNodeOptions = {},
): Promise<NodeHandle> {
  const plug = parsePlugSettings({
    ovsdb: conf.ovsdbSocket,
    bridge: conf.bridge,
    datapathType: conf.datapathType,
    driver: conf.plugDriver,
    vswitchdNetns: netnsPath(conf.ovsNetns),
    ...(conf.nested
      ? {
          nested: {
            ...(conf.nested.parentPort ? { parentPort: conf.nested.parentPort } : {}),
            nic: conf.nested.nic,
            vlanDevice: conf.nested.vlanDevice,
            ...(conf.nested.nicNetns ? { nicNetns: netnsPath(conf.nested.nicNetns) } : {}),
          },
        }
      : {}),
    timeoutMs: conf.timeouts.ovsdbMs,
  });
  const store = await openStore(conf.store.url, {
    busyTimeoutMs: conf.timeouts.storeMs,
    timeoutMs: conf.timeouts.storeMs,
    logger: log,
  });
  const locks = opts.locks ?? createAttachmentLocks();
  const memo = createMemo();
  let pools: PortPools | undefined;
  let conn: { key: string; client: Promise<NeutronClient> } | undefined;
  const connection = async (): Promise<NeutronClient> => {
    const id = await identity(conf, store);
    if (conn?.key !== id.key) {
      const client = connect(id.credentials(), {
        tokenCacheDir: conf.tokenCacheDir,
        keystoneTimeoutMs: conf.timeouts.keystoneMs,
        ...(conf.timeouts.neutronMs !== undefined ? { neutronTimeoutMs: conf.timeouts.neutronMs } : {}),
        ...(opts.queue ? { queue: opts.queue } : {}),
        logger: log,
      }).then((c) => c.neutron);
      const mine = { key: id.key, client };
      conn = mine;
      client.catch(() => {
        if (conn === mine) conn = undefined;
      });
    }
    return conn.client;
  };
  return {
    settings: conf,
    context: ({ log: reqLog, signal, priority }) => {
      let neutron: Promise<NeutronClient> | undefined;
      return {
        store,
        cluster: conf.cluster,
        node: conf.nodeName,
        plug,
        log: reqLog,
        defaultNetwork: conf.network,
        defaultSubnet: conf.subnet,
        mtu: conf.mtu,
        serviceCidrs: conf.serviceCidrs,
        locks,
        pools,
        memo,
        neutron: () => {
          neutron ??= connection().then((c) =>
            c.bound({ signal, logger: reqLog, ...(priority ? { priority } : {}) }),
          );
          return neutron;
        },
      };
    },
    attachPools: (p) => {
      pools = p;
    },
    close: () => store.close(),
  };
}

/** A memo whose entries expire; a failed lookup is not remembered. */
function createMemo(): NodeContext['memo'] {
  const entries = new Map<string, { until: number; value: Promise<unknown> }>();
  return <T>(key: string, ttlMs: number, fn: () => Promise<T>): Promise<T> => {
    const now = Date.now();
    const hit = entries.get(key);
    if (hit && hit.until > now) return hit.value as Promise<T>;
    const value = fn();
    const entry = { until: now + ttlMs, value };
    entries.set(key, entry);
    value.catch(() => {
      if (entries.get(key) === entry) entries.delete(key);
    });
    if (entries.size > 1024) for (const [k, e] of entries) if (e.until <= now) entries.delete(k);
    return value;
  };
}

/** The cluster's credentials and a key that changes when they do (it holds no secret). */
async function identity(
  conf: NodeSettings,
  store: Store,
): Promise<{ key: string; credentials: () => Credentials }> {
  const c = conf.credentials;
  if (c) {
    const mtime = await stat(c.file).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    return {
      key: `file ${c.file} ${c.kind === 'clouds-yaml' ? c.cloud : ''} ${mtime}`,
      credentials: () =>
        loadCredentials({ file: c.file, cloud: c.kind === 'clouds-yaml' ? c.cloud : undefined, env: {} }),
    };
  }
  const cluster = await store.clusters.get(conf.cluster);
  if (!cluster)
    throw new StoreError(
      'not-registered',
      `cluster "${conf.cluster}" is not registered in the N-Net store ${conf.store.url}; register it with: kubenetctl create cluster ${conf.cluster}`,
    );
  const { authUrl, region, interface: iface, credentials } = cluster;
  const digest = createHash('sha256')
    // A node-file reference: the file's change time too, so a rotated secret is picked up.
    .update(JSON.stringify({ authUrl, region, iface, credentials, changed: fileChanged(credentials) }))
    .digest('hex');
  return { key: `store ${digest}`, credentials: () => clusterCredentials(cluster) };
}

function fileChanged(c: Cluster['credentials']): number | undefined {
  if (c.type !== 'node-file') return undefined;
  try {
    return statSync(c.path).ctimeMs;
  } catch {
    return undefined; // clusterCredentials says why
  }
}

/**
 * Runs `fn` with a context for this node; the store is closed afterwards (kubenetctl gc, one-shot
 * runs). With `signal` (the command's deadline), every Neutron request of ctx.neutron() ends when
 * it aborts.
 */
export async function withNodeContext<T>(
  conf: NodeSettings,
  log: Logger,
  fn: (ctx: NodeContext) => Promise<T>,
  opts: { signal?: AbortSignal | undefined } = {},
): Promise<T> {
  const node = await openNodeContext(conf, log);
  try {
    return await fn(node.context({ log, signal: opts.signal }));
  } finally {
    await node.close();
  }
}
