/**
 * A node leaving the cluster, as seen from anywhere (kubenetctl gc --node, another node's agent):
 * what N-Net holds for it in Neutron and the store is released. Pods' ports that ADD made are
 * deleted; static-IP reservations are unbound and kept for the pods' next start elsewhere; the
 * node's own ports leave the node-access group's rules and are deleted; its records go. What was on the
 * node itself (OVS ports, its NICs, its netfilter table) is its own agent's sweep to remove if it
 * ever comes back. Safe to repeat: what is gone already is skipped.
 */
import type { NeutronClient, Port } from '../neutron/index.ts';
import {
  clusterTag,
  DEVICE_OWNER,
  isNodePort,
  isPoolPort,
  isReserved,
  leaveAnyTrunk,
  nodePorts,
  nodeTag,
  releaseNodePort,
  releasePort,
} from '../resources/index.ts';
import type { Attachment, Store } from '../store/index.ts';

export interface NodeRelease {
  podPortsDeleted: string[];
  reservationsUnbound: string[];
  nodePortsReleased: string[];
  recordsDeleted: number;
}

export async function releaseNode(
  store: Store,
  neutron: NeutronClient,
  cluster: string,
  node: string,
): Promise<NodeRelease> {
  const done: NodeRelease = {
    podPortsDeleted: [],
    reservationsUnbound: [],
    nodePortsReleased: [],
    recordsDeleted: 0,
  };
  const attachments = (await store.attachments.list({ node })).filter((a) => a.cluster === cluster);
  const bound = await neutron.ports.list({ hostId: node, deviceOwner: DEVICE_OWNER });
  const recorded = new Map(attachments.map((a) => [a.portId, a]));
  for (const port of bound) {
    const a = recorded.get(port.id);
    if (!a && !port.tags.includes('nnet') && !isPoolPort(port)) continue;
    const createdByAdd = a ? a.portCreatedByAdd : !isReserved(port);
    await releasePort(neutron, { portId: port.id, createdByAdd, containerId: port.deviceId });
    (createdByAdd ? done.podPortsDeleted : done.reservationsUnbound).push(port.id);
  }
  await releaseSubports(neutron, cluster, node, {
    attachments,
    done,
    handled: new Set(bound.map((p) => p.id)),
  });
  for (const a of attachments) {
    await store.attachments.delete({ containerId: a.containerId, ifname: a.ifname });
    done.recordsDeleted += 1;
  }
  const access = (await store.clusters.get(cluster))?.nodeAccess;
  for (const port of await nodePorts(neutron, cluster, node)) {
    await releaseNodePort(neutron, port, access);
    done.nodePortsReleased.push(port.id);
  }
  if (await store.nodes.delete({ cluster, name: node })) done.recordsDeleted += 1;
  return done;
}

/**
 * A VM node's (nested mode) pod and pool ports ride its trunk and are bound to the hypervisor,
 * not to the node: they are found by the node's tag (ports its ADDs and pools made) and by the
 * node's records (reservations), taken off the trunk and released as above. Only the cluster's;
 * not its node ports, which releaseNode releases next (their node-access rules with them).
 */
async function releaseSubports(
  neutron: NeutronClient,
  cluster: string,
  node: string,
  o: { attachments: readonly Attachment[]; done: NodeRelease; handled: ReadonlySet<string> },
): Promise<void> {
  const recorded = new Map(o.attachments.filter((a) => a.subport).map((a) => [a.portId, a]));
  const recordedIds = [...recorded.keys()].filter((id) => !o.handled.has(id));
  const found = [
    ...(await nodeMadePorts(neutron, cluster, node)),
    ...(recordedIds.length > 0 ? await neutron.ports.list({ id: recordedIds }) : []),
  ];
  const riding = new Map<string, Port>();
  for (const p of found)
    if (!o.handled.has(p.id) && !isNodePort(p) && p.tags.includes(clusterTag(cluster))) riding.set(p.id, p);
  if (riding.size === 0) return;
  await leaveAnyTrunk(neutron, [...riding.values()]);
  for (const port of riding.values()) {
    const a = recorded.get(port.id);
    const createdByAdd = a ? a.portCreatedByAdd : !isReserved(port);
    await releasePort(neutron, {
      portId: port.id,
      createdByAdd,
      containerId: a?.containerId ?? port.deviceId,
    });
    (createdByAdd ? o.done.podPortsDeleted : o.done.reservationsUnbound).push(port.id);
  }
}

/** The cluster's ports tagged with the node: its node ports, its pool ports, its nested ADDs' ports. */
function nodeMadePorts(neutron: NeutronClient, cluster: string, node: string): Promise<Port[]> {
  return neutron.ports.list({ tags: ['nnet', clusterTag(cluster), nodeTag(node)] });
}

/** A node that has left: its agent has not reported for `lostAfterReports` of its intervals, and Neutron shows none of its ports up. */
export interface LostNodeRule {
  now: number;
  /** How many report intervals of silence make a node lost (default 3). */
  lostAfterReports?: number;
}

/**
 * The cluster's nodes that have left: silent (no report from their agent for several intervals)
 * and with every port Neutron has bound to them DOWN — OVN takes a port down when the chassis
 * that claimed it is gone, so a node that is only cut off from the store, with its pods still
 * running, is not released. A port of the node that changed within the silence is a sign of life
 * too (its ADD just bound it; Neutron may call it ACTIVE seconds later, and a busy agent's report
 * may be late): such a node is not lost (nodeLost).
 */
export async function lostNodes(
  store: Store,
  neutron: NeutronClient,
  cluster: string,
  rule: LostNodeRule,
): Promise<string[]> {
  const lost: string[] = [];
  for (const n of await store.nodes.list({ cluster })) {
    if (!n.seenAt || !n.reportEveryMs) continue; // never reported: not an agent's node yet
    const window = (rule.lostAfterReports ?? 3) * n.reportEveryMs;
    if (rule.now - Date.parse(n.seenAt) < window) continue;
    // A VM node's ports are bound to its hypervisor: its tag finds them (node ports included).
    const ports = [
      ...(await neutron.ports.list({ hostId: n.name, deviceOwner: DEVICE_OWNER })),
      ...(await nodeMadePorts(neutron, cluster, n.name)),
    ];
    if (nodeLost(ports, rule.now - window)) lost.push(n.name);
  }
  return lost;
}

/** A silent node's ports say it left: none is up, and none changed since `since` (ms). */
export function nodeLost(ports: readonly Pick<Port, 'status' | 'updatedAt'>[], since: number): boolean {
  return ports.every((p) => p.status !== 'ACTIVE' && !(Date.parse(p.updatedAt ?? '') >= since));
}

/** The node's agent reports in: its record's seenAt (and interval) are brought up to date. */
export async function reportNode(
  store: Store,
  cluster: string,
  node: string,
  everyMs: number,
  now = new Date(),
): Promise<void> {
  await store.nodes.update({ cluster, name: node }, (cur) => ({
    ...cur,
    cluster,
    name: node,
    ports: cur?.ports ?? [],
    seenAt: now.toISOString(),
    reportEveryMs: everyMs,
  }));
}
