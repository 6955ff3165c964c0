/**
 * A node's own NIC on a pod network: an OVS internal port (`nnh<hex>`) whose tap stays in the
 * netns where ovs-vswitchd runs, which is the node's own. It gives the node (kubelet probes,
 * hostNetwork pods) an address on the pod network, and it is the next hop of pods' Service
 * traffic into the node's netfilter. Idempotent like the pod drivers: a second plug only fixes
 * what differs, which is also how the agent restores it after ovs-vswitchd recreated the tap.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PlugError } from '../errors/index.ts';
import { type Logger, silentLogger } from '../log/index.ts';
import { canonicalIp } from '../resources/index.ts';
import { readDevice } from './links.ts';
import { assertNetns, ipBatch, ipBatchBestEffort, netnsLabel } from './netns.ts';
import { deletePorts, ensurePort, NNET_IDS, withOvsdb } from './ovs.ts';
import { configureBatch, type NicConfig } from './pod.ts';
import type { PlugSettings } from './settings.ts';
import { deviceNames } from './spec.ts';

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
}

const NO_DEVICE = /Cannot find device|does not exist|No such device/;

/** Plugs (or restores) the node's NIC; returns its device name and whether anything changed. */
export async function plugHostNic(
  settings: PlugSettings,
  spec: HostNicSpec,
  opts: { log?: Logger } = {},
): Promise<{ device: string; changed: boolean }> {
  const log = opts.log ?? silentLogger;
  const vsw = settings.vswitchdNetns;
  if (vsw) assertNetns(vsw, 'ovs-vswitchd');
  const device = deviceNames(spec.portId).host;
  const created = await withOvsdb(settings, async (c) => {
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
    await ipBatch(vsw, cmds).catch((e: unknown) => {
      throw e instanceof PlugError
        ? new PlugError('link', `configuring node NIC ${device} in ${netnsLabel(vsw)}: ${e.message}`, {
            cause: e,
          })
        : e;
    });
    const after = await readDevice(vsw, device);
    const changed = created || JSON.stringify(after) !== before;
    if (changed) log.info('node NIC plugged', { portId: spec.portId, device });
    return { device, changed };
  } catch (e) {
    if (created) await unplugHostNic(settings, spec.portId).catch(() => undefined);
    throw e;
  }
}

/** Removes the node's NIC (its OVS port; the tap goes with it). Success when already gone. */
export async function unplugHostNic(settings: PlugSettings, portId: string): Promise<void> {
  const device = deviceNames(portId).host;
  await withOvsdb(settings, (c) => deletePorts(c, settings, [device], (p) => p.ifaceId === portId));
  // A tap left behind by a vswitchd that died with the port still in its DB.
  await ipBatchBestEffort(settings.vswitchdNetns, [['link', 'del', 'dev', device]]);
}

/** The NIC's state once ovs-vswitchd has created its tap (it may take a moment after the OVSDB change). */
async function deviceWhenPresent(settings: PlugSettings, device: string) {
  const deadline = Date.now() + settings.timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      const state = await readDevice(settings.vswitchdNetns, device);
      if (state) return state;
    } catch (e) {
      if (!(e instanceof PlugError && NO_DEVICE.test(e.message))) throw e;
    }
    if (Date.now() > deadline)
      throw new PlugError(
        'link',
        `tap ${device} of the node's OVS internal port did not appear in ${netnsLabel(settings.vswitchdNetns)} within ${settings.timeoutMs} ms`,
      );
    await sleep(delay);
  }
}
