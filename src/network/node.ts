/**
 * Builds a NodeContext from a node's settings (the plugin's config holds them): the store, the
 * plug settings, and a lazily authenticated Neutron client for the registered cluster. The CNI
 * verbs, the node agent and `kubenetctl gc --cni-config` all build it here.
 */

import { StoreError } from '../errors/index.ts';
import { loadCredentials } from '../identity/index.ts';
import type { Logger } from '../log/index.ts';
import type { NeutronClient } from '../neutron/index.ts';
import { parsePlugSettings } from '../plug/index.ts';
import { clusterCredentials, connect } from '../resources/index.ts';
import { openStore } from '../store/index.ts';
import type { NodeContext } from './context.ts';

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
  plugDriver: 'internal' | 'hybrid';
  bridge: string;
  datapathType: 'system' | 'netdev';
  ovsdbSocket: string;
  ovsNetns: string | undefined;
  mtu: number | undefined;
  serviceCidrs?: string[] | undefined;
  tokenCacheDir: string;
  timeouts: { keystoneMs: number; neutronMs?: number | undefined; storeMs: number; ovsdbMs: number };
}

/**
 * Runs `fn` with a context for this node; the store is closed afterwards. With `signal` (the
 * command's deadline), every Neutron request of ctx.neutron() ends when it aborts.
 */
export async function withNodeContext<T>(
  conf: NodeSettings,
  log: Logger,
  fn: (ctx: NodeContext) => Promise<T>,
  opts: { signal?: AbortSignal | undefined } = {},
): Promise<T> {
  const plug = parsePlugSettings({
    ovsdb: conf.ovsdbSocket,
    bridge: conf.bridge,
    datapathType: conf.datapathType,
    driver: conf.plugDriver,
    vswitchdNetns: netnsPath(conf.ovsNetns),
    timeoutMs: conf.timeouts.ovsdbMs,
  });
  const store = await openStore(conf.store.url, {
    busyTimeoutMs: conf.timeouts.storeMs,
    timeoutMs: conf.timeouts.storeMs,
    logger: log,
  });
  let neutron: Promise<NeutronClient> | undefined;
  const ctx: NodeContext = {
    store,
    cluster: conf.cluster,
    node: conf.nodeName,
    plug,
    log,
    defaultNetwork: conf.network,
    defaultSubnet: conf.subnet,
    mtu: conf.mtu,
    serviceCidrs: conf.serviceCidrs,
    neutron: () => {
      neutron ??= (async () => {
        const credentials = conf.credentials
          ? loadCredentials({
              file: conf.credentials.file,
              cloud: conf.credentials.kind === 'clouds-yaml' ? conf.credentials.cloud : undefined,
              env: {},
            })
          : await (async () => {
              const cluster = await store.clusters.get(conf.cluster);
              if (!cluster) {
                throw new StoreError(
                  'not-registered',
                  `cluster "${conf.cluster}" is not registered in the N-Net store ${conf.store.url}; register it with: kubenetctl create cluster ${conf.cluster}`,
                );
              }
              return clusterCredentials(cluster);
            })();
        const c = await connect(credentials, {
          tokenCacheDir: conf.tokenCacheDir,
          keystoneTimeoutMs: conf.timeouts.keystoneMs,
          ...(conf.timeouts.neutronMs !== undefined ? { neutronTimeoutMs: conf.timeouts.neutronMs } : {}),
          signal: opts.signal,
          logger: log,
        });
        return c.neutron;
      })();
      return neutron;
    },
  };
  try {
    return await fn(ctx);
  } finally {
    await store.close();
  }
}
