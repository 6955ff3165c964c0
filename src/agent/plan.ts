/**
 * The agent's decisions, without I/O: which pods' NICs need a re-plug given the store's
 * attachments and what OVSDB says about N-Net's ports. The re-plug itself restores a NIC from its
 * attachment record with the network module's plugSpecOf, as ADD plugged it.
 */
import type { InterfaceEvent, OvsPort } from '../plug/index.ts';
import type { Attachment } from '../store/index.ts';

/** The ifindex ovs-vswitchd last reported for each N-Net port, by iface-id (the Neutron port id). */
export type TapIndex = Map<string, number>;

/**
 * Feeds one Interface event (or one row of a fresh listing, as 'modify') into `taps`. Returns the
 * iface-id when the row says a device of that name now exists in ovs-vswitchd's netns where none
 * (or another) was: a plugged internal port's tap lives in the pod, so vswitchd reports ifindex 0
 * for it; after a restart vswitchd recreates the tap in its own netns and reports its ifindex, and
 * the pod's NIC is a dead copy. The same happens, harmlessly, while an ADD has not moved its tap
 * yet (it has no record then, so nothing is re-plugged). An 'initial' row is only remembered.
 */
export function noteInterface(taps: TapIndex, e: InterfaceEvent): string | undefined {
  const id = e.port.ifaceId;
  if (!id || e.port.driver === undefined) return undefined;
  if (e.kind === 'delete') {
    taps.delete(id);
    return undefined;
  }
  const now = e.port.ifindex ?? 0;
  const before = taps.get(id);
  taps.set(id, now);
  return e.kind !== 'initial' && now > 0 && now !== before ? id : undefined;
}

export type SkipReason = 'other-node' | 'netns-gone' | 'no-ovs-port';

export interface ReplugPlan {
  replug: Attachment[];
  skipped: { attachment: Attachment; why: SkipReason }[];
}

export interface ReplugPlanInput {
  node: string;
  attachments: readonly Attachment[];
  /** N-Net's ports on the bridge now, by iface-id. */
  ports: ReadonlyMap<string, Pick<OvsPort, 'name'>>;
  /** iface-ids whose tap was recreated, or 'all' (start-up, OVSDB reconnect: events may be lost). */
  suspects: ReadonlySet<string> | 'all';
  netnsAlive: (path: string) => boolean;
}

/**
 * Which attachments to re-plug. Only live pods whose OVS port exists: a pod whose netns is gone
 * is the reconcile's to release, and a port missing from OVS may be a DEL in progress (re-plugging
 * it would resurrect what DEL just removed), so neither is touched here.
 */
export function planReplugs(input: ReplugPlanInput): ReplugPlan {
  const plan: ReplugPlan = { replug: [], skipped: [] };
  for (const a of input.attachments) {
    if (input.suspects !== 'all' && !input.suspects.has(a.portId)) continue;
    const why: SkipReason | undefined =
      a.node !== input.node
        ? 'other-node'
        : !input.ports.has(a.portId)
          ? 'no-ovs-port'
          : !input.netnsAlive(a.netns)
            ? 'netns-gone'
            : undefined;
    if (why) plan.skipped.push({ attachment: a, why });
    else plan.replug.push(a);
  }
  return plan;
}

/** What a sweep did, as counts per reconcile action kind (the metric's label values). */
export function sweepActionCounts(r: {
  attachmentsReleased: readonly unknown[];
  ovsPortsRemoved: readonly unknown[];
  neutronPortsReleased: readonly unknown[];
}): Record<Exclude<ReconcileKind, 'node_released'>, number> {
  return {
    attachment_released: r.attachmentsReleased.length,
    ovs_port_removed: r.ovsPortsRemoved.length,
    neutron_port_released: r.neutronPortsReleased.length,
  };
}

export const RECONCILE_KINDS = [
  'attachment_released',
  'ovs_port_removed',
  'neutron_port_released',
  'node_released',
] as const;
export type ReconcileKind = (typeof RECONCILE_KINDS)[number];
