import type { DeploySettings } from '../deploy/index.ts';
import type { Logger } from '../log/index.ts';
import type { NeutronClient } from '../neutron/index.ts';
import type { Store } from '../store/index.ts';

/** What the network module needs on a node: its store, its OVS, its cluster's Neutron. */
export interface NodeContext {
  store: Store;
  cluster: string;
  /** binding:host_id; equals the node's OVN chassis hostname. */
  node: string;
  deploy: DeploySettings;
  /** Authenticates the cluster with Keystone (once) and returns its Neutron client. */
  neutron(): Promise<NeutronClient>;
  log: Logger;
  /** Default network / subnet (id or name) for pods without their own config. */
  defaultNetwork?: string | undefined;
  defaultSubnet?: string | undefined;
  /** Overrides the Neutron network's MTU. */
  mtu?: number | undefined;
}
