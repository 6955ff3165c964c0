/** plug / unplug / replug: pick the driver, open OVSDB, run the driver; unplug removes every trace. */
import { PlugError } from '../errors/index.ts';
import { type Logger, silentLogger } from '../log/index.ts';
import type { DriverContext, DriverResult } from './driver.ts';
import { plugHybrid } from './hybrid.ts';
import { plugInternal } from './internal.ts';
import { listLinks } from './links.ts';
import { assertNetns, ipBatchBestEffort, netnsExists, netnsLabel } from './netns.ts';
import { deletePorts, findPortByIfaceId, withOvsdb } from './ovs.ts';
import { deleteFromPod } from './pod.ts';
import type { PlugDriver, PlugSettings } from './settings.ts';
import { deviceNames, type PlugSpec, type UnplugSpec } from './spec.ts';
import { nestedNic, plugKernelVlan, plugOvsVlan, usesKernelVlan } from './vlan.ts';

export interface PlugResult {
  driver: PlugDriver;
  /** The pod's NIC: name, MAC, MTU and the netns it is in (CNI `interfaces` entry with sandbox). */
  ifname: string;
  mac: string;
  mtu: number;
  netns: string;
  /** The port's name on the OVS bridge (nn… for internal, nno… for hybrid). */
  ovsPort: string;
  /** Host-side link in the vswitchd netns (hybrid: the nnt… veth end); none for internal. */
  hostIfname: string | undefined;
  /** False when everything was already in place (a repeated plug). */
  changed: boolean;
}

export interface PlugOptions {
  log?: Logger;
}

async function runDriver(
  settings: PlugSettings,
  spec: PlugSpec,
  driver: PlugDriver | undefined,
  log: Logger,
): Promise<PlugResult> {
  assertNetns(spec.netns);
  if (usesKernelVlan(settings)) {
    const names = deviceNames(spec.portId);
    const r = await plugKernelVlan({
      settings,
      spec,
      names,
      log: log.child({ portId: spec.portId, driver: 'vlan' }),
    });
    return { driver: 'vlan', ifname: spec.ifname, mac: spec.mac, mtu: spec.mtu, netns: spec.netns, ...r };
  }
  if (settings.vswitchdNetns) assertNetns(settings.vswitchdNetns, 'ovs-vswitchd');
  return withOvsdb(settings, async (ovsdb) => {
    const existing = await findPortByIfaceId(ovsdb, spec.portId);
    if (existing?.driver === 'host')
      throw new PlugError(
        'link',
        `port ${spec.portId} is a node's own port (OVS port ${existing.name}), not a pod's`,
      );
    // A free pool port (pre-plugged, its tap waiting in the vswitchd netns) becomes a pod's NIC.
    const plugged = existing?.driver === 'pool' ? undefined : existing?.driver;
    const use = driver ?? plugged ?? settings.driver;
    if (plugged && plugged !== use)
      throw new PlugError(
        'link',
        `port ${spec.portId} is already plugged with the ${plugged} driver (OVS port ${existing!.name}); unplug it first`,
      );
    const ctx: DriverContext = {
      settings,
      spec,
      names: deviceNames(spec.portId),
      ovsdb,
      log: log.child({ portId: spec.portId, driver: use }),
      vsw: settings.vswitchdNetns,
    };
    const r: DriverResult =
      use === 'hybrid'
        ? await plugHybrid(ctx)
        : use === 'vlan'
          ? await plugOvsVlan(ctx)
          : await plugInternal(ctx);
    return { driver: use, ifname: spec.ifname, mac: spec.mac, mtu: spec.mtu, netns: spec.netns, ...r };
  });
}

/**
 * Plugs the Neutron port into the pod with the settings' driver. Idempotent (a second call
 * changes nothing and reports changed=false); a failure undoes what this call did.
 */
export async function plug(
  settings: PlugSettings,
  spec: PlugSpec,
  opts: PlugOptions = {},
): Promise<PlugResult> {
  const log = opts.log ?? silentLogger;
  const r = await runDriver(settings, spec, settings.driver, log);
  log.info('plugged', { portId: spec.portId, driver: r.driver, ovsPort: r.ovsPort, changed: r.changed });
  return r;
}

/**
 * Re-attaches a plugged port with the driver it was plugged with, e.g. after ovs-vswitchd restarted
 * and recreated an internal port's tap in its own netns while the pod kept the dead old one: the
 * stale device is deleted, the new one moved in and readdressed. Returns 'unchanged' when all was well.
 */
export async function replug(
  settings: PlugSettings,
  spec: PlugSpec,
  opts: PlugOptions = {},
): Promise<'replugged' | 'unchanged'> {
  const log = opts.log ?? silentLogger;
  const r = await runDriver(settings, spec, undefined, log);
  if (r.changed) log.info('replugged', { portId: spec.portId, driver: r.driver, ovsPort: r.ovsPort });
  return r.changed ? 'replugged' : 'unchanged';
}

/**
 * Removes everything either driver may have created for this port: its OVS port(s), host links in
 * the vswitchd netns, its NIC in the pod. Success when already gone, and when the pod netns is gone.
 */
export async function unplug(
  settings: PlugSettings,
  spec: UnplugSpec,
  opts: PlugOptions = {},
): Promise<void> {
  const log = opts.log ?? silentLogger;
  const names = deviceNames(spec.portId);
  let ovsError: unknown;
  const kernelVlan = usesKernelVlan(settings);
  if (kernelVlan) {
    const { netns } = nestedNic(settings);
    // A VLAN device an ADD made and did not move into the pod yet.
    if (netns === undefined || netnsExists(netns))
      await ipBatchBestEffort(netns, [['link', 'del', 'dev', names.vlan]]);
  } else
    try {
      // First, so that vswitchd lets go of (and destroys) internal-port taps wherever they are now.
      const removed = await withOvsdb(settings, (c) =>
        deletePorts(c, settings, [names.internal, names.qvo], (p) => p.ifaceId === spec.portId),
      );
      if (removed.length > 0) log.info('removed OVS ports', { portId: spec.portId, ports: removed });
    } catch (e) {
      ovsError = e;
    }
  const vsw = settings.vswitchdNetns;
  if (!kernelVlan && (vsw === undefined || netnsExists(vsw))) {
    const host = new Set((await listLinks(vsw)).map((l) => l.name));
    // Deleting one veth end deletes its peer; qbr last.
    const doomed = [names.internal, names.tap, names.qvb, names.pod, names.qvo, names.qbr].filter((n) =>
      host.has(n),
    );
    const failures = await ipBatchBestEffort(
      vsw,
      doomed.map((n) => ['link', 'del', 'dev', n]),
    );
    const real = failures.filter((f) => !/Cannot find device|No such device/.test(f.message));
    if (real.length > 0)
      throw new PlugError('link', `removing ${real[0]!.command} in ${netnsLabel(vsw)}: ${real[0]!.message}`);
  }
  if (spec.netns && netnsExists(spec.netns))
    await deleteFromPod({ netns: spec.netns, portId: spec.portId }).catch((e) => {
      if (!(e instanceof PlugError && e.reason === 'netns-missing')) throw e; // pod went away meanwhile
    });
  if (ovsError) throw ovsError;
  log.info('unplugged', { portId: spec.portId });
}
