/**
 * The `internal` driver: an OVS internal port on the bridge, whose tap (created by ovs-vswitchd in
 * its own netns) is moved into the pod and becomes the pod's NIC. One device, no veth, no bridge.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PlugError } from '../errors/index.ts';
import { type DriverContext, type DriverResult, portExternalIds } from './driver.ts';
import { listLinks, readDevice } from './links.ts';
import { ipBatch, netnsLabel } from './netns.ts';
import { deletePorts, ensurePort } from './ovs.ts';
import { configurePod, moveIntoPod, moveOutOfPod, podDevices } from './pod.ts';
import { runSteps } from './steps.ts';

const NO_DEVICE = /Cannot find device|does not exist|No such device/;

/** `tag`: an access port of that VLAN (the vlan driver with an OVS bridge in the VM). */
export async function plugInternal(ctx: DriverContext, tag?: number): Promise<DriverResult> {
  const { spec, names, settings, ovsdb, vsw } = ctx;
  const tap = names.internal;
  let current: string | undefined; // the NIC's name in the pod
  let fresh = false; // moved in by this call (so its state is known: down, no addresses)

  const changed = await runSteps(
    [
      {
        name: 'ovs-port',
        run: async () => {
          const r = await ensurePort(ovsdb, settings, {
            name: tap,
            type: 'internal',
            externalIds: portExternalIds(spec, tag === undefined ? 'internal' : 'vlan'),
            tag,
          });
          return r.created
            ? async () => {
                await deletePorts(ovsdb, settings, [tap], (p) => p.ifaceId === spec.portId);
              }
            : undefined;
        },
      },
      {
        name: 'move',
        run: async () => {
          const { ours } = await podDevices(spec);
          if (ours) {
            // Already in the pod. A tap of the same name in the vswitchd netns means ovs-vswitchd
            // was restarted and recreated it: the pod's one is dead; swap it for the new one.
            const hostLinks = await listLinks(vsw);
            current = ours.name;
            if (!hostLinks.some((l) => l.name === tap)) return undefined;
            await ipBatch(spec.netns, [['link', 'del', 'dev', ours.name]]);
            ctx.log.info('replacing stale pod NIC', { portId: spec.portId, netns: spec.netns });
          }
          await moveWhenPresent(ctx, tap);
          current = tap;
          fresh = true;
          return async () => {
            await moveOutOfPod(spec, vsw, tap);
          };
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
      what: `internal plug of port ${spec.portId}`,
    },
  );
  return { ovsPort: tap, hostIfname: undefined, changed };
}

/** Moves the tap into the pod, waiting for ovs-vswitchd to create it if it is not there yet. */
async function moveWhenPresent(ctx: DriverContext, tap: string): Promise<void> {
  const deadline = Date.now() + ctx.settings.timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      await moveIntoPod(ctx.vsw, tap, ctx.spec);
      return;
    } catch (e) {
      if (!(e instanceof PlugError && e.reason === 'link' && NO_DEVICE.test(e.message))) throw e;
      if (Date.now() > deadline)
        throw new PlugError(
          'link',
          `tap ${tap} of OVS internal port did not appear in ${netnsLabel(ctx.vsw)} within ${ctx.settings.timeoutMs} ms`,
        );
    }
    await sleep(delay);
  }
}
