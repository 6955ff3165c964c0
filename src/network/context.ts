import type { Logger } from '../log/index.ts';
import type { NeutronClient } from '../neutron/index.ts';
import type { PlugSettings } from '../plug/index.ts';
import type { ClusterScope } from '../resources/index.ts';
import type { Store } from '../store/index.ts';
import type { AttachmentLocks } from './locks.ts';
import type { PortPools } from './pools.ts';

/** What the network module needs on a node: its store, its OVS, its cluster's Neutron. */
export interface NodeContext {
  store: Store;
  cluster: string;
  /** binding:host_id; equals the node's OVN chassis hostname. */
  node: string;
  plug: PlugSettings;
  /** Authenticates the cluster with Keystone (once) and returns its Neutron client. */
  neutron(): Promise<NeutronClient>;
  log: Logger;
  /** Default network / subnet (id or name) for pods without their own config. */
  defaultNetwork?: string | undefined;
  defaultSubnet?: string | undefined;
  /** Overrides the Neutron network's MTU. */
  mtu?: number | undefined;
  /** Overrides the cluster's Service CIDRs (the store's cluster record; default 10.96.0.0/12). */
  serviceCidrs?: string[] | undefined;
  /** One command per attachment at a time (shared by every request on the node). */
  locks: AttachmentLocks;
  /** The node's warm port pools, when its agent keeps them. */
  pools?: PortPools | undefined;
  /**
   * Remembers what `fn` found for `ttlMs`, for every request on the node: facts that change
   * rarely (a network's MTU, its subnets, the default target) need no Neutron call per ADD.
   */
  memo<T>(key: string, ttlMs: number, fn: () => Promise<T>): Promise<T>;
}

/**
 * The cluster's scope for name lookups (its managed networks and subnets, its defaults). A
 * cluster whose credentials come from the node's own file may have no record: then it has no
 * managed resources and no defaults.
 */
export async function clusterScope(ctx: NodeContext): Promise<ClusterScope> {
  const [cluster, neutron] = await Promise.all([ctx.store.clusters.get(ctx.cluster), ctx.neutron()]);
  return { store: ctx.store, neutron, cluster: cluster ?? { name: ctx.cluster } };
}
