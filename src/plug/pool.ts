/**
 * Warm pool ports on OVS: a pool port is an OVS internal port (`nn<hex>`, the name a pod's NIC of
 * that port has on the bridge) plugged before any pod asks, with its iface-id, so ovn-controller
 * claims it (Interface external_ids:ovn-installed=true) while its tap waits, down and without
 * address, in ovs-vswitchd's netns (external_ids nnet-driver=pool). An ADD that takes one only
 * moves and configures the tap (src/plug/internal.ts, as for any internal port whose OVS port
 * exists); a DEL gives it back: out of the pod under its host name, down, addresses flushed,
 * nnet-driver=pool again.
 *
 *   await plugPoolPorts(settings, [{ portId, mac, networkId }]);
 *   await waitOvnClaimed(settings, portId, 10_000); // 'claimed' | 'no-ovn' | 'timeout'
 *   await returnToPool(settings, { portId, mac, networkId, netns });
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { listLinks } from './links.ts';
import { ipBatch, ipBatchBestEffort, netnsExists } from './netns.ts';
import {
  deletePorts,
  ensurePort,
  findPortByIfaceId,
  NNET_IDS,
  ovnConfigured,
  setNnetIds,
  withOvsdb,
} from './ovs.ts';
import { moveOutOfPod } from './pod.ts';
import type { PlugSettings } from './settings.ts';
import { deviceNames } from './spec.ts';

export interface PoolPortSpec {
  portId: string;
  mac: string;
  networkId: string;
}

const NNET_POOL_IDS = (p: PoolPortSpec) => ({ [NNET_IDS.driver]: 'pool', 'nnet-network': p.networkId });

function poolIds(p: PoolPortSpec): Record<string, string> {
  return { 'iface-id': p.portId, 'attached-mac': p.mac, 'iface-status': 'active', ...NNET_POOL_IDS(p) };
}

/** Plugs free pool ports on the bridge (each waits until ovs-vswitchd made its tap). */
export async function plugPoolPorts(settings: PlugSettings, ports: readonly PoolPortSpec[]): Promise<void> {
  await withOvsdb(settings, async (c) => {
    for (const p of ports)
      await ensurePort(c, settings, {
        name: deviceNames(p.portId).internal,
        type: 'internal',
        externalIds: poolIds(p),
      });
  });
}

/** Removes free pool ports from the bridge (their taps go with them). */
export async function unplugPoolPorts(settings: PlugSettings, portIds: readonly string[]): Promise<void> {
  const ids = new Set(portIds);
  await withOvsdb(settings, (c) =>
    deletePorts(
      c,
      settings,
      portIds.map((id) => deviceNames(id).internal),
      (p) => p.ifaceId !== undefined && ids.has(p.ifaceId),
    ),
  );
}

/**
 * A pod's NIC of a pool port back to the pool. When the pod's netns is gone with the tap, the OVS
 * port is made again (ovs-vswitchd makes a fresh tap), so the pool gets a clean port either way.
 */
export async function returnToPool(
  settings: PlugSettings,
  p: PoolPortSpec & { netns?: string | undefined },
): Promise<void> {
  const tap = deviceNames(p.portId).internal;
  const vsw = settings.vswitchdNetns;
  if (p.netns && netnsExists(p.netns)) await moveOutOfPod({ netns: p.netns, portId: p.portId }, vsw, tap);
  const here = (await listLinks(vsw)).some((l) => l.name === tap);
  if (!here) {
    await unplugPoolPorts(settings, [p.portId]);
    await ipBatchBestEffort(vsw, [['link', 'del', 'dev', tap]]);
    await plugPoolPorts(settings, [p]);
    return;
  }
  await ipBatch(vsw, [
    ['link', 'set', 'dev', tap, 'down'],
    ['addr', 'flush', 'dev', tap],
  ]);
  await withOvsdb(settings, (c) => setNnetIds(c, tap, NNET_POOL_IDS(p)));
}

/**
 * Waits until ovn-controller has installed the port's flows (the data path passes traffic), or
 * says there is no ovn-controller on this node to wait for.
 */
export async function waitOvnClaimed(
  settings: PlugSettings,
  portId: string,
  timeoutMs: number,
): Promise<'claimed' | 'no-ovn' | 'timeout'> {
  return withOvsdb(settings, async (c) => {
    if (!(await ovnConfigured(c))) return 'no-ovn';
    const deadline = Date.now() + timeoutMs;
    for (let delay = 5; ; delay = Math.min(delay * 2, 50)) {
      const port = await findPortByIfaceId(c, portId);
      if (port?.externalIds['ovn-installed'] === 'true') return 'claimed';
      if (Date.now() > deadline) return 'timeout';
      await sleep(delay);
    }
  });
}
