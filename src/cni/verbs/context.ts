/**
 * Builds the network module's NodeContext from the plugin's config: the store, the deploy
 * settings, and a lazily authenticated Neutron client for the registered cluster.
 */
import { parseDeploySettings } from '../../deploy/index.ts';
import { StoreError } from '../../errors/index.ts';
import { loadCredentials } from '../../identity/index.ts';
import type { Logger } from '../../log/index.ts';
import type { NodeContext } from '../../network/index.ts';
import type { NeutronClient } from '../../neutron/index.ts';
import { clusterCredentials, connect } from '../../resources/index.ts';
import { openStore } from '../../store/index.ts';
import type { NetConf } from '../config.ts';

function netnsPath(nameOrPath: string | undefined): string | undefined {
  if (nameOrPath === undefined) return undefined;
  return nameOrPath.startsWith('/') ? nameOrPath : `/run/netns/${nameOrPath}`;
}

export async function withNodeContext<T>(
  conf: NetConf,
  log: Logger,
  fn: (ctx: NodeContext) => Promise<T>,
): Promise<T> {
  const deploy = parseDeploySettings({
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
    deploy,
    log,
    defaultNetwork: conf.network,
    defaultSubnet: conf.subnet,
    mtu: conf.mtu,
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
          neutronTimeoutMs: conf.timeouts.neutronMs,
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
