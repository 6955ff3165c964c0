/**
 * A node's own NIC on a pod network (`nnh<hex>`), in the node's own netns. It gives the node
 * (kubelet probes, hostNetwork pods) an address on the pod network, and it is the next hop of
 * pods' Service traffic into the node's netfilter. Idempotent like the pod drivers: a second plug
 * only fixes what differs, which is also how the agent restores it after ovs-vswitchd recreated
 * the tap.
 *
 * - Bare metal: an OVS internal port whose tap stays in the netns where ovs-vswitchd runs.
 * - A VM node (nested mode), the port being a subport of the VM's trunk with `vlan`: what the
 *   vlan driver makes for a pod, left in the node's netns — an 802.1Q device on the VM's NIC, or
 *   an access port of the VM's OVS bridge (`nested.vlanDevice: ovs`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PlugError } from '../errors/index.ts';
import { type Logger, silentLogger } from '../log/index.ts';
import { canonicalIp } from '../resources/index.ts';
import { readDevice } from './links.ts';
import { assertNetns, ipBatch, ipBatchBestEffort, type NetnsPath, netnsLabel } from './netns.ts';
import { deletePorts, ensurePort, findPortByIfaceId, NNET_IDS, withOvsdb } from './ovs.ts';
import { configureBatch, type NicConfig } from './pod.ts';
import { ensurePolicyRoutes } from './policy-routes.ts';
import type { PlugSettings } from './settings.ts';
import { deviceNames } from './spec.ts';
import { addVlanDevice, nestedNic, usesKernelVlan } from './vlan.ts';

export interface HostNicSpec {
  portId: string;
  mac: string;
  mtu: number;
  ips: { address: string; prefixLength: number }[];
  /** Routes through the NIC in the node's netns (the network's other subnets, on-link). */
  routes: { dst: string; gateway?: string; onlink?: boolean }[];
  /** For OVS external_ids: which node and network the port serves. */
  node: string;
  networkId: string;
  /** A VM node's: the VLAN ID of the port's subport on the VM's trunk. */
  vlan?: number | undefined;
}

/** The node's own netns, where its NICs live: ovs-vswitchd's, or with 802.1Q devices the VM NIC's. */
export function hostNetns(settings: PlugSettings): NetnsPath {
  return usesKernelVlan(settings) ? nestedNic(settings).netns : settings.vswitchdNetns;
}

/** Whether the node's NIC of this port is there (its OVS port, or its 802.1Q device). */
export async function hostNicPresent(settings: PlugSettings, portId: string): Promise<boolean> {
  const device = deviceNames(portId).host;
  if (usesKernelVlan(settings)) return (await readDevice(hostNetns(settings), device)) !== undefined;
  return withOvsdb(settings, async (c) => (await findPortByIfaceId(c, portId)) !== undefined);
}

const NO_DEVICE = /Cannot find device|does not exist|No such device/;

/** Plugs (or restores) the node's NIC; returns its device name and whether anything changed. */
export async function plugHostNic(
  settings: PlugSettings,
  spec: HostNicSpec,
  opts: { log?: Logger } = {},
): Promise<{ device: string; changed: boolean }> {
  const log = opts.log ?? silentLogger;
  const ns = hostNetns(settings);
  if (ns) assertNetns(ns, usesKernelVlan(settings) ? 'the node' : 'ovs-vswitchd');
  const device = deviceNames(spec.portId).host;
  const created = usesKernelVlan(settings)
    ? await ensureVlanDevice(settings, device, spec)
    : await withOvsdb(settings, async (c) => {
        const r = await ensurePort(c, settings, {
          name: device,
          type: 'internal',
          externalIds: {
            'iface-id': spec.portId,
            'attached-mac': spec.mac,
            'iface-status': 'active',
            [NNET_IDS.driver]: 'host',
            [NNET_IDS.podName]: `node ${spec.node}`,
            'nnet-network': spec.networkId,
          },
          tag: spec.vlan,
        });
        return r.created;
      });
  try {
    const nic: NicConfig = {
      ifname: device,
      mac: spec.mac,
      mtu: spec.mtu,
      ips: spec.ips,
      routes: spec.routes,
    };
    const state = await deviceWhenPresent(settings, device);
    const wanted = (a: { address: string; prefixLength: number }) =>
      spec.ips.some(
        (i) => canonicalIp(i.address) === canonicalIp(a.address) && i.prefixLength === a.prefixLength,
      );
    // Addresses the NIC should not have (the kernel's own IPv6 link-local address stays).
    const stale = state.addrs.filter((a) => !a.address.startsWith('fe80:') && !wanted(a));
    const cmds = [
      ...stale.map((a) => ['addr', 'del', `${a.address}/${a.prefixLength}`, 'dev', device]),
      ...configureBatch(nic, device, state),
    ];
    const before = JSON.stringify(state);
    await ipBatch(ns, cmds).catch((e: unknown) => {
      throw e instanceof PlugError
        ? new PlugError('link', `configuring node NIC ${device} in ${netnsLabel(ns)}: ${e.message}`, {
            cause: e,
          })
        : e;
    });
    const after = await readDevice(ns, device);
    await ensurePolicyRoutes(ns);
    const changed = created || JSON.stringify(after) !== before;
    if (changed) log.info('node NIC plugged', { portId: spec.portId, device });
    return { device, changed };
  } catch (e) {
    if (created) await unplugHostNic(settings, spec.portId).catch(() => undefined);
    throw e;
  }
}

/** Removes the node's NIC (its OVS port, the tap going with it; or its 802.1Q device). Success when already gone. */
export async function unplugHostNic(settings: PlugSettings, portId: string): Promise<void> {
  const device = deviceNames(portId).host;
  if (!usesKernelVlan(settings))
    await withOvsdb(settings, (c) => deletePorts(c, settings, [device], (p) => p.ifaceId === portId));
  // A tap left behind by a vswitchd that died with the port still in its DB.
  await ipBatchBestEffort(hostNetns(settings), [['link', 'del', 'dev', device]]);
  await ensurePolicyRoutes(hostNetns(settings)).catch(() => undefined); // rules no node port needs any more
}

/** A VM node's NIC with 802.1Q devices: one on the VM's NIC with the subport's VLAN. */
async function ensureVlanDevice(settings: PlugSettings, device: string, spec: HostNicSpec): Promise<boolean> {
  if (spec.vlan === undefined)
    throw new PlugError('link', `node port ${spec.portId} has no VLAN ID: a VM node's port rides its trunk`);
  const ns = hostNetns(settings);
  if (await readDevice(ns, device)) return false;
  await addVlanDevice(ns, nestedNic(settings).nic, device, spec.vlan);
  return true;
}

/** The NIC's state once ovs-vswitchd has created its tap (it may take a moment after the OVSDB change). */
async function deviceWhenPresent(settings: PlugSettings, device: string) {
  const deadline = Date.now() + settings.timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      const state = await readDevice(hostNetns(settings), device);
      if (state) return state;
    } catch (e) {
      if (!(e instanceof PlugError && NO_DEVICE.test(e.message))) throw e;
    }
    if (Date.now() > deadline)
      throw new PlugError(
        'link',
        `tap ${device} of the node's OVS internal port did not appear in ${netnsLabel(hostNetns(settings))} within ${settings.timeoutMs} ms`,
      );
    await sleep(delay);
  }
}
