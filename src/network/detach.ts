/**
 * DEL: unplug and release what ADD made, then forget it — or, for a port of the node's pool, give
 * it back to the pool while the pool has room (no Neutron call). Idempotent: works without the
 * pod's netns, after a failed or killed ADD (found by the container id Neutron and OVS carry), and
 * twice. The record goes last, so a DEL that fails half-way (Neutron down) can simply be repeated.
 */

import { NeutronError, StoreError } from '../errors/index.ts';
import { faultPoint } from '../faults/index.ts';
import type { NeutronClient } from '../neutron/index.ts';
import { listPorts, NNET_IDS, unplug } from '../plug/index.ts';
import { containerPorts, isReserved, nestedContainerPorts, releasePort } from '../resources/index.ts';
import type { NodeContext } from './context.ts';
import { isNested, isSubport, leaveTrunk, trunkOf } from './nested.ts';

export interface DetachRequest {
  containerId: string;
  ifname: string;
  netns?: string | undefined;
}

/** DEL, after any other command of the same NIC (an ADD its runtime gave up on included). */
export function detach(ctx: NodeContext, req: DetachRequest): Promise<void> {
  return ctx.locks.run({ containerId: req.containerId, ifname: req.ifname }, () => detachNow(ctx, req));
}

async function detachNow(ctx: NodeContext, req: DetachRequest): Promise<void> {
  const key = { containerId: req.containerId, ifname: req.ifname };
  const attachment = await ctx.store.attachments.get(key);
  if (attachment?.pool && ctx.pools) {
    // A pool's port goes back to its pool (no Neutron call); the record goes last, as below.
    const back = await ctx.pools.giveBack({
      portId: attachment.portId,
      pool: attachment.pool,
      mac: attachment.mac,
      networkId: attachment.networkId ?? '',
      netns: req.netns ?? attachment.netns,
    });
    if (back) {
      await ctx.store.attachments.delete(key);
      ctx.log.info('detached; the port is back in its pool', { portId: attachment.portId });
      return;
    }
  }
  if (attachment) {
    await unplug(
      ctx.plug,
      { portId: attachment.portId, netns: req.netns ?? attachment.netns, ifname: req.ifname },
      { log: ctx.log },
    );
    await faultPoint('unplug');
    const neutron = await ctx.neutron();
    const release = {
      portId: attachment.portId,
      createdByAdd: attachment.portCreatedByAdd,
      containerId: req.containerId,
    };
    if (attachment.subport) await leaveTrunk(neutron, { ...release, trunkId: attachment.subport.trunkId });
    else await releasePort(neutron, release);
    await ctx.store.attachments.delete(key);
    ctx.log.info('detached', { portId: attachment.portId });
    return;
  }
  // No record: an ADD that failed or was killed may have left a port in OVS and/or Neutron.
  const ovsLeft = (await listPorts(ctx.plug)).filter(
    (p) =>
      p.externalIds[NNET_IDS.containerId] === req.containerId &&
      p.externalIds[NNET_IDS.ifname] === req.ifname,
  );
  for (const p of ovsLeft) {
    if (p.ifaceId)
      await unplug(ctx.plug, { portId: p.ifaceId, netns: req.netns, ifname: req.ifname }, { log: ctx.log });
  }
  let neutron: NeutronClient;
  try {
    neutron = await ctx.neutron();
  } catch (e) {
    // Nothing recorded and the cluster is not registered: there is nothing of ours in Neutron.
    if (e instanceof StoreError && e.reason === 'not-registered') return;
    throw e;
  }
  const nested = isNested(ctx);
  const left = nested
    ? await nestedContainerPorts(neutron, ctx.cluster, req.containerId)
    : await containerPorts(neutron, req.containerId);
  for (const port of left) {
    await unplug(ctx.plug, { portId: port.id, netns: req.netns, ifname: req.ifname }, { log: ctx.log });
    const release = { portId: port.id, createdByAdd: !isReserved(port), containerId: req.containerId };
    // A subport is taken off the trunk first: Neutron deletes no port a trunk still carries.
    const released =
      nested && isSubport(port)
        ? leaveTrunk(neutron, { ...release, trunkId: (await trunkOf(ctx, neutron)).id })
        : releasePort(neutron, release);
    await released.catch((e: unknown) => {
      if (!(e instanceof NeutronError && e.reason === 'not-found')) throw e;
    });
    ctx.log.info('released a port left by an unfinished ADD', { portId: port.id });
  }
}
