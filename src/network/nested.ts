/**
 * Nested mode (`plugDriver: vlan`): the node is an OpenStack VM and each pod's port is a subport
 * of the trunk on the VM's port, with a VLAN ID of its own (src/resources/trunk.ts). No OVS and no
 * OVN on the node: the hypervisor's ovn-controller claims the subport because its parent is
 * local, and strips the VLAN. What differs from a bare-metal node is here: getting the port onto
 * the trunk (ADD), off it (DEL, GC), and CHECK's look at the trunk.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NeutronError, PlugError } from '../errors/index.ts';
import { faultPoint } from '../faults/index.ts';
import type { NeutronClient, Port, Trunk } from '../neutron/index.ts';
import { readNestedNic, unplug } from '../plug/index.ts';
import {
  addSubport,
  clusterTag,
  containerOfPort,
  isNodePort,
  isPoolPort,
  isReserved,
  isStrayNestedPort,
  nodeTag,
  nodeTrunk,
  releasePort,
  removeSubport,
  SUBPORT_OWNER,
} from '../resources/index.ts';
import type { Attachment } from '../store/index.ts';
import type { NodeContext } from './context.ts';

export function isNested(ctx: Pick<NodeContext, 'plug'>): boolean {
  return ctx.plug.driver === 'vlan';
}

const TRUNK_TTL_MS = 60_000;

/** The node's trunk (found once a minute: its parent port, its project and state checked). */
export async function trunkOf(ctx: NodeContext, neutron: NeutronClient): Promise<Trunk> {
  return ctx.memo('node trunk', TRUNK_TTL_MS, async () => {
    const nic = await readNestedNic(ctx.plug);
    if (nic.mac === undefined && ctx.plug.nested?.parentPort === undefined)
      throw new PlugError(
        'link',
        `the node's NIC ${nic.nic} (nested.nic), which carries the trunk, is not found`,
      );
    return nodeTrunk(neutron, { parentPort: ctx.plug.nested?.parentPort, nicMac: nic.mac, nic: nic.nic });
  });
}

export interface Subport {
  port: Port;
  trunkId: string;
  vlan: number;
}

/**
 * Puts the pod's port on the node's trunk with a free VLAN ID, then marks it the container's
 * (device_id, which Neutron refuses on a port it adds to a trunk) with the pod's security groups.
 * A failure takes it off the trunk again.
 */
export async function joinTrunk(
  ctx: NodeContext,
  neutron: NeutronClient,
  port: Port,
  o: { containerId: string; securityGroupIds: readonly string[] },
): Promise<Subport> {
  const trunk = await trunkOf(ctx, neutron);
  // A killed ADD of this container may have marked it already: Neutron wants no device_id.
  let current = port.deviceId ? await neutron.ports.update(port.id, { deviceId: '' }) : port;
  const vlan = await addSubport(neutron, trunk, port.id);
  try {
    await faultPoint('subport');
    const groups = [...new Set([...current.securityGroups, ...o.securityGroupIds])];
    current = await neutron.ports.update(port.id, {
      deviceId: o.containerId,
      ...(groups.length !== current.securityGroups.length ? { securityGroups: groups } : {}),
    });
    ctx.log.info('port is a subport of the node trunk', { portId: port.id, trunkId: trunk.id, vlan });
    return { port: current, trunkId: trunk.id, vlan };
  } catch (e) {
    await removeSubport(neutron.withSignal(undefined), trunk.id, port.id).catch(() => undefined);
    throw e;
  }
}

/**
 * A VM node's own port on its trunk, with its VLAN ID: already there when an earlier run put it
 * on and crashed before recording it, else added now (the same arbiter as a pod's).
 */
export async function nodePortOnTrunk(
  ctx: NodeContext,
  neutron: NeutronClient,
  port: Port,
): Promise<{ trunkId: string; vlan: number }> {
  const trunk = await trunkOf(ctx, neutron);
  if (port.deviceOwner === SUBPORT_OWNER) {
    const riding = (await neutron.trunks.get(trunk.id)).subPorts.find((s) => s.portId === port.id);
    if (riding) return { trunkId: trunk.id, vlan: riding.segmentationId };
  }
  const vlan = await addSubport(neutron, trunk, port.id);
  ctx.log.info('node port is a subport of the node trunk', { portId: port.id, trunkId: trunk.id, vlan });
  return { trunkId: trunk.id, vlan };
}

/** How long an ADD waits for Neutron to call a new subport ACTIVE (the hypervisor claimed it). */
const SUBPORT_ACTIVE_WAIT_MS = 20_000;

/** The answer waits until the hypervisor's OVN has claimed the subport (Neutron says ACTIVE). */
export async function subportReady(ctx: NodeContext, neutron: NeutronClient, portId: string): Promise<void> {
  const until = Date.now() + SUBPORT_ACTIVE_WAIT_MS;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    const p = await neutron.ports.get(portId);
    if (p.status === 'ACTIVE') return;
    if (Date.now() > until) {
      ctx.log.warn('the subport is not ACTIVE yet; answering anyway', { portId, status: p.status });
      return;
    }
    await sleep(delay);
  }
}

/** CHECK's look at Neutron for a nested pod: the port is still on the trunk with its VLAN. */
export async function checkSubport(ctx: NodeContext, neutron: NeutronClient, a: Attachment): Promise<void> {
  const s = a.subport!;
  const trunk = await neutron.trunks.get(s.trunkId).catch((e: unknown) => {
    if (e instanceof NeutronError && e.reason === 'not-found')
      throw new PlugError('check-failed', `the node's trunk ${s.trunkId} no longer exists`);
    throw e;
  });
  const sub = trunk.subPorts.find((x) => x.portId === a.portId);
  if (!sub)
    throw new PlugError('check-failed', `port ${a.portId} is no longer a subport of trunk ${s.trunkId}`);
  if (sub.segmentationId !== s.vlan)
    throw new PlugError(
      'check-failed',
      `port ${a.portId} rides trunk ${s.trunkId} on VLAN ${sub.segmentationId}, not ${s.vlan}`,
    );
  ctx.log.debug('subport as recorded', { portId: a.portId, vlan: s.vlan });
}

/** Takes a recorded nested pod's port off the trunk, then releases it as DEL does any port. */
export async function leaveTrunk(
  neutron: NeutronClient,
  p: { trunkId: string; portId: string; createdByAdd: boolean; containerId: string },
): Promise<void> {
  await removeSubport(neutron, p.trunkId, p.portId);
  await releasePort(neutron, p);
}

export interface NestedLeftovers {
  removed: string[];
  errors: string[];
}

/**
 * GC's nested part: subports of the node's trunk that are this cluster's pod ports with no
 * attachment (an ADD killed between the trunk and the record), older than `graceMs`, taken off
 * the trunk and released (a reservation is kept, a port ADD made is deleted).
 */
export async function sweepSubports(
  ctx: NodeContext,
  neutron: NeutronClient,
  kept: ReadonlySet<string>,
  o: {
    graceMs: number;
    now: () => number;
    wanted?: ((a: { containerId: string; ifname: string }) => boolean) | undefined;
  },
): Promise<NestedLeftovers> {
  const out: NestedLeftovers = { removed: [], errors: [] };
  const trunk = await neutron.trunks.get((await trunkOf(ctx, neutron)).id);
  const onTrunk = new Set(trunk.subPorts.map((s) => s.portId));
  await sweepStrays(ctx, neutron, onTrunk, kept, o, out);
  const ids = [...onTrunk].filter((id) => !kept.has(id));
  if (ids.length === 0) return out;
  const ports = await neutron.ports.list({ id: ids, tags: ['nnet', clusterTag(ctx.cluster)] });
  for (const port of ports) {
    // The pools' own reconcile holds or releases these; the node's own ports are its record's.
    if (isPoolPort(port) || isNodePort(port)) continue;
    if (port.deviceId && ctx.locks.busy(port.deviceId)) continue;
    if (o.wanted && port.deviceId && o.wanted({ containerId: port.deviceId, ifname: '' })) continue;
    if (Date.parse(port.updatedAt ?? '') > o.now() - o.graceMs) continue;
    try {
      await unplug(ctx.plug, { portId: port.id }, { log: ctx.log });
      await leaveTrunk(neutron, {
        trunkId: trunk.id,
        portId: port.id,
        createdByAdd: !isReserved(port),
        containerId: port.deviceId,
      });
      out.removed.push(port.id);
      ctx.log.info('released a subport no pod holds', { portId: port.id, trunkId: trunk.id });
    } catch (e) {
      out.errors.push(`releasing subport ${port.id}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return out;
}

/** Ports this node's nested ADDs made that never reached the trunk (isStrayNestedPort): deleted. */
async function sweepStrays(
  ctx: NodeContext,
  neutron: NeutronClient,
  onTrunk: ReadonlySet<string>,
  kept: ReadonlySet<string>,
  o: Parameters<typeof sweepSubports>[3],
  out: NestedLeftovers,
): Promise<void> {
  const made = await neutron.ports.list({ tags: ['nnet', clusterTag(ctx.cluster), nodeTag(ctx.node)] });
  for (const port of made) {
    if (!isStrayNestedPort(port, onTrunk) || kept.has(port.id)) continue;
    const containerId = containerOfPort(port)!;
    if (ctx.locks.busy(containerId)) continue;
    if (o.wanted?.({ containerId, ifname: '' })) continue;
    if (Date.parse(port.updatedAt ?? '') > o.now() - o.graceMs) continue;
    try {
      await neutron.ports.ensureDeleted(port.id);
      out.removed.push(port.id);
      ctx.log.info('deleted a port a nested ADD made that never reached the trunk', {
        portId: port.id,
        containerId,
      });
    } catch (e) {
      out.errors.push(`deleting port ${port.id}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/** A port ADD or DEL found by container id in nested mode is a subport, whatever its owner says. */
export function isSubport(port: Pick<Port, 'deviceOwner'>): boolean {
  return port.deviceOwner === SUBPORT_OWNER;
}
