/**
 * The `hybrid` driver: os-vif's layout.
 *
 *   pod: <ifname> (veth) ── nnt… (veth, in Linux bridge nnq…) ── nnq… ── nnb… (veth) ── nno… (port on br-int)
 *
 * Everything on the host side lives in the vswitchd netns. On a netdev (userspace) bridge every veth
 * end gets TX checksum offload turned off, or TCP stalls.
 */
import { type DriverContext, type DriverResult, portExternalIds } from './driver.ts';
import { type LinkInfo, listLinks, readDevice } from './links.ts';
import { ipBatch, ipBatchBestEffort, type NetnsPath, txOffloadOff } from './netns.ts';
import { deletePorts, ensurePort } from './ovs.ts';
import { configurePod, deleteFromPod, moveIntoPod, podDevices } from './pod.ts';
import { runSteps } from './steps.ts';

/** Creates links with `create` (one batch); if a later part fails, deletes `created` again. */
async function createOrRollBack(
  ns: NetnsPath,
  create: string[][],
  created: string[],
  after?: () => Promise<void>,
): Promise<() => Promise<void>> {
  const remove = async () => {
    await ipBatchBestEffort(
      ns,
      created.map((d) => ['link', 'del', 'dev', d]),
    );
  };
  try {
    await ipBatch(ns, create);
    await after?.();
  } catch (e) {
    await remove();
    throw e;
  }
  return remove;
}

export async function plugHybrid(ctx: DriverContext): Promise<DriverResult> {
  const { spec, names, settings, ovsdb, vsw } = ctx;
  const mtu = String(spec.mtu);
  const netdev = settings.datapathType === 'netdev';
  let hostLinks: LinkInfo[] = [];
  const has = (n: string) => hostLinks.some((l) => l.name === n);
  let current: string | undefined;
  let fresh = false;

  const changed = await runSteps(
    [
      {
        name: 'bridge',
        run: async () => {
          hostLinks = await listLinks(vsw);
          if (has(names.qbr)) return undefined;
          return createOrRollBack(
            vsw,
            [
              ['link', 'add', 'name', names.qbr, 'mtu', mtu, 'type', 'bridge'],
              ['link', 'set', 'dev', names.qbr, 'up'],
            ],
            [names.qbr],
          );
        },
      },
      {
        name: 'veth-ovs',
        run: async () => {
          if (has(names.qvb)) return undefined;
          return createOrRollBack(
            vsw,
            [
              [
                'link',
                'add',
                'name',
                names.qvb,
                'mtu',
                mtu,
                'type',
                'veth',
                'peer',
                'name',
                names.qvo,
                'mtu',
                mtu,
              ],
              ['link', 'set', 'dev', names.qvb, 'master', names.qbr, 'up'],
              ['link', 'set', 'dev', names.qvo, 'up'],
            ],
            [names.qvb],
            netdev ? () => txOffloadOff(vsw, [names.qvb, names.qvo]) : undefined,
          );
        },
      },
      {
        name: 'ovs-port',
        run: async () => {
          const r = await ensurePort(ovsdb, settings, {
            name: names.qvo,
            type: '',
            externalIds: portExternalIds(spec, 'hybrid'),
          });
          return r.created
            ? async () => {
                await deletePorts(ovsdb, settings, [names.qvo], (p) => p.ifaceId === spec.portId);
              }
            : undefined;
        },
      },
      {
        name: 'veth-pod',
        run: async () => {
          if (has(names.tap)) return undefined;
          return createOrRollBack(
            vsw,
            [
              [
                'link',
                'add',
                'name',
                names.tap,
                'mtu',
                mtu,
                'type',
                'veth',
                'peer',
                'name',
                names.pod,
                'mtu',
                mtu,
              ],
              ['link', 'set', 'dev', names.tap, 'master', names.qbr, 'up'],
            ],
            [names.tap],
            netdev ? () => txOffloadOff(vsw, [names.tap, names.pod]) : undefined,
          );
        },
      },
      {
        name: 'move',
        run: async () => {
          const { ours } = await podDevices(spec);
          if (ours) {
            current = ours.name;
            return undefined;
          }
          await moveIntoPod(vsw, names.pod, spec);
          current = names.pod;
          fresh = true;
          return () => deleteFromPod(spec);
        },
      },
      {
        name: 'configure',
        run: async () => {
          const state = fresh ? undefined : await readDevice(spec.netns, current!);
          await configurePod(spec, current!, state);
          return undefined;
        },
      },
    ],
    {
      log: ctx.log,
      what: `hybrid plug of port ${spec.portId}`,
    },
  );
  return { ovsPort: names.qvo, hostIfname: names.tap, changed };
}
