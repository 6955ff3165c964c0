/**
 * Network deployment: plug a Neutron port into a pod's network namespace on OVS.
 *
 *   const settings = parsePlugSettings({ bridge: 'br-int', datapathType: 'netdev' });
 *   const spec = parsePlugSpec({ portId, mac, ips: [{ address: '1.2.0.100', prefixLength: 16 }],
 *     gateway: '1.2.0.1', mtu: 1450, netns: '/var/run/netns/pod1', ifname: 'eth0' });
 *   await plug(settings, spec);    // idempotent; undoes its own partial work on failure
 *   await check(settings, spec);   // PlugError('check-failed') when something differs
 *   await unplug(settings, spec);  // idempotent; works when the netns is gone
 *
 * See README.md for the design and the measurements behind it.
 */
import { checkPlug } from './check.ts';
import { findPortByIfaceId, listNnetPorts, type OvsPort, withOvsdb } from './ovs.ts';
import type { PlugSettings } from './settings.ts';
import type { PlugSpec } from './spec.ts';
import { usesKernelVlan } from './vlan.ts';

export { type HostNicSpec, hostNetns, hostNicPresent, plugHostNic, unplugHostNic } from './host.ts';
export { ifnameProblem } from './ifname.ts';
export { listHostAddresses } from './links.ts';
export {
  ensureNodeRouting,
  NFT_TABLE,
  nodeNatScript,
  nodeRoutingInPlace,
  removeNodeRouting,
} from './netfilter.ts';
export type { NetnsPath } from './netns.ts';
export { assertNetns, netnsExists, setSysctls } from './netns.ts';
export {
  type InterfaceEvent,
  type InterfaceWatch,
  NNET_IDS,
  type OvsPort,
  shareOvsdbConnections,
  watchInterfaces,
} from './ovs.ts';
export { type PlugOptions, type PlugResult, plug, replug, unplug } from './plug.ts';
export { ensurePolicyRoutes } from './policy-routes.ts';
export {
  type PoolPortSpec,
  plugPoolPorts,
  returnToPool,
  unplugPoolPorts,
  waitOvnClaimed,
} from './pool.ts';
export {
  PLUG_DRIVERS,
  type PlugDriver,
  type PlugSettings,
  type PlugSettingsInput,
  parsePlugSettings,
} from './settings.ts';
export {
  type DeviceNames,
  deviceNames,
  HYBRID_STEPS,
  INTERNAL_STEPS,
  type PlugSpec,
  type PlugSpecInput,
  type PlugStep,
  parsePlugSpec,
  parseUnplugSpec,
  podAlias,
  type UnplugSpec,
} from './spec.ts';
export { readNestedNic, usesKernelVlan } from './vlan.ts';

/** CHECK: throws PlugError('check-failed') naming the first thing that is not as plugged. */
export function check(settings: PlugSettings, spec: PlugSpec): Promise<void> {
  return checkPlug(settings, spec);
}

/** N-Net's pod NICs on the bridge (internal and hybrid; not the node's own, not free pool ports). */
export async function listPorts(settings: PlugSettings): Promise<OvsPort[]> {
  return (await listAllPorts(settings)).filter((p) => p.driver !== 'host' && p.driver !== 'pool');
}

/** The free warm pool ports on the bridge (src/plug/pool.ts). */
export async function listPoolPorts(settings: PlugSettings): Promise<OvsPort[]> {
  return (await listAllPorts(settings)).filter((p) => p.driver === 'pool');
}

/** The node's own ports on the bridge (src/plug/host.ts). */
export async function listHostPorts(settings: PlugSettings): Promise<OvsPort[]> {
  return (await listAllPorts(settings)).filter((p) => p.driver === 'host');
}

/** Every port N-Net made on the bridge: pods' NICs and the node's own. */
export async function listAllPorts(settings: PlugSettings): Promise<OvsPort[]> {
  // A nested node with 802.1Q devices has no OVS at all.
  if (usesKernelVlan(settings)) return [];
  return withOvsdb(settings, (c) => listNnetPorts(c, settings));
}

/** The OVS interface with external_ids:iface-id=`portId`, or undefined. */
export function findPort(settings: PlugSettings, portId: string): Promise<OvsPort | undefined> {
  return withOvsdb(settings, (c) => findPortByIfaceId(c, portId));
}
