/**
 * What ADD and DEL ask of a node's warm port pools (nnet-agent keeps them: src/agent/pools.ts).
 * A pool is one per node × network (its subnets) × security-group set; its key is the sorted
 * ids of each. A pool port is made, bound to the node and plugged before any pod asks; ADD takes
 * one and only moves and configures its NIC, DEL gives it back. Neutron's view of who holds it
 * (name, device_id, tags) follows in the background, off the commands' critical path.
 *
 *   const key = { networkId, subnetIds: ['…'], securityGroupIds: ['…', '…'] };
 *   const p = ctx.pools?.take(key); // undefined: empty or off — ADD makes its own port
 */
import type { Port, Subnet } from '../neutron/index.ts';
import type { PodRef } from '../resources/index.ts';

export interface PoolKey {
  networkId: string;
  subnetIds: readonly string[];
  securityGroupIds: readonly string[];
}

/** `network|subnet,subnet|group,group`, each list sorted: one text per pool. */
export function poolKeyText(k: PoolKey): string {
  const sorted = (l: readonly string[]) => [...new Set(l)].sort().join(',');
  return `${k.networkId}|${sorted(k.subnetIds)}|${sorted(k.securityGroupIds)}`;
}

export function parsePoolKey(text: string): PoolKey {
  const [networkId = '', subnets = '', groups = ''] = text.split('|');
  const list = (s: string) => (s === '' ? [] : s.split(','));
  return { networkId, subnetIds: list(subnets), securityGroupIds: list(groups) };
}

/** The pool a Neutron port belongs to, from its own network, subnets and groups. */
export function poolKeyOfPort(p: Pick<Port, 'networkId' | 'fixedIps' | 'securityGroups'>): PoolKey {
  return {
    networkId: p.networkId,
    subnetIds: p.fixedIps.map((f) => f.subnetId),
    securityGroupIds: p.securityGroups,
  };
}

export interface PooledPort {
  port: Port;
  /** poolKeyText of its pool. */
  key: string;
  /** The pool's subnets and MTU: the NIC's addressing without asking Neutron. */
  subnets: Subnet[];
  mtu: number;
  /** A nested node's pool port rides the node's trunk already, with its VLAN. */
  subport?: { trunkId: string; vlan: number } | undefined;
}

export interface GiveBack {
  portId: string;
  /** poolKeyText, as the attachment recorded it. */
  pool: string;
  mac: string;
  networkId: string;
  /** The pod's netns, where the NIC still is (absent or gone: a fresh tap is made). */
  netns?: string | undefined;
}

export interface PortPools {
  /** A ready port (a hit), or undefined (a miss: the pool is empty or off). Never waits. */
  take(key: PoolKey): PooledPort | undefined;
  /** The ADD that took it recorded it: Neutron's fields will name the pod. */
  held(p: PooledPort, owner: { pod: PodRef; containerId: string }): void;
  /** The ADD that took it failed: the port is unplugged and deleted. */
  lost(p: PooledPort, netns?: string): void;
  /**
   * DEL of a pooled NIC: true when the port is back in its pool (out of the pod, no address,
   * waiting on the bridge); false when the pool is full or off, or the return failed: then the
   * caller releases the port as any other.
   */
  giveBack(g: GiveBack): Promise<boolean>;
}
