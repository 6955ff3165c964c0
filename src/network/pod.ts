/**
 * A pod's NICs as one CNI call sees them. The runtime names one interface (eth0); a pod whose
 * network config lists more NICs (net1, net2, …: `kubenetctl run --network a --network b@IP`)
 * gets them in the same ADD, each its own Neutron port, OVS port and record (marked `via` eth0),
 * and its DEL, CHECK and GC take them along. A Multus attachment on net1 is the runtime's own
 * call instead, and none of this applies to it.
 *
 *   const nics = await attachPod(ctx, req);   // [eth0, net1, …], in the config's order
 *   await detachPod(ctx, { containerId, ifname: 'eth0', netns });
 */
import type { Attachment } from '../store/index.ts';
import { type AttachRequest, attach } from './attach.ts';
import { type CheckRequest, checkAttachment } from './check.ts';
import type { NodeContext } from './context.ts';
import { type DetachRequest, detach } from './detach.ts';

/** The records of the NICs made with `ifname`'s ADD, in ifname order (net1, net2, …). */
async function extrasOf(ctx: NodeContext, containerId: string, ifname: string): Promise<Attachment[]> {
  const all = await ctx.store.attachments.list({ node: ctx.node });
  return all
    .filter((a) => a.containerId === containerId && a.via === ifname)
    .sort((a, b) => a.ifname.localeCompare(b.ifname, 'en', { numeric: true }));
}

/**
 * ADD: the NIC the runtime names, then, when it is the first NIC of the pod's config, the
 * config's other NICs. An extra NIC that fails undoes every NIC this call made (not one a
 * repeated ADD found), so the runtime's retry starts clean.
 */
export async function attachPod(ctx: NodeContext, req: AttachRequest): Promise<Attachment[]> {
  const existed = await ctx.store.attachments.get({ containerId: req.containerId, ifname: req.ifname });
  const primary = await attach(ctx, req);
  const config = await ctx.store.podConfigs.get(req.pod);
  if (!config || config.nics[0]?.ifname !== req.ifname || config.nics.length === 1) return [primary];
  const made: Attachment[] = [primary];
  try {
    for (const nic of config.nics.slice(1))
      made.push(
        await attach(ctx, {
          containerId: req.containerId,
          ifname: nic.ifname,
          netns: req.netns,
          pod: req.pod,
          podUid: req.podUid,
          via: req.ifname,
        }),
      );
    return made;
  } catch (e) {
    for (const a of made.slice(1).reverse())
      await detach(ctx, { containerId: a.containerId, ifname: a.ifname, netns: req.netns }).catch(
        (err: unknown) =>
          ctx.log.error('undoing an extra NIC failed; the node agent will collect it', {
            ifname: a.ifname,
            error: err,
          }),
      );
    if (!existed)
      await detach(ctx, { containerId: req.containerId, ifname: req.ifname, netns: req.netns }).catch(
        (err: unknown) =>
          ctx.log.error('undoing the NIC failed; the node agent will collect it', {
            ifname: req.ifname,
            error: err,
          }),
      );
    throw e;
  }
}

/** DEL: the extra NICs made with this one (last first), then this one. */
export async function detachPod(ctx: NodeContext, req: DetachRequest): Promise<void> {
  for (const a of (await extrasOf(ctx, req.containerId, req.ifname)).reverse())
    await detach(ctx, { containerId: a.containerId, ifname: a.ifname, netns: req.netns });
  await detach(ctx, req);
}

/** CHECK: this NIC, then each extra NIC made with it; `expected` gives each one's addresses in the cached result. */
export async function checkPod(
  ctx: NodeContext,
  req: Omit<CheckRequest, 'expectedAddresses'>,
  expected: (ifname: string) => string[] | undefined,
): Promise<Attachment[]> {
  const primary = await checkAttachment(ctx, { ...req, expectedAddresses: expected(req.ifname) });
  const extras: Attachment[] = [];
  for (const a of await extrasOf(ctx, req.containerId, req.ifname))
    extras.push(
      await checkAttachment(ctx, {
        containerId: a.containerId,
        ifname: a.ifname,
        netns: req.netns,
        expectedAddresses: expected(a.ifname),
      }),
    );
  return [primary, ...extras];
}
