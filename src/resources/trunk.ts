/**
 * Nested mode's Neutron side: the node (a VM) has a trunk on its NIC's port, and each pod port
 * rides it as a subport with a VLAN ID of its own. Neutron is the arbiter of VLAN IDs: an ADD
 * picks a free one from the trunk as it read it, and another ADD that took it meanwhile makes
 * Neutron answer DuplicateSubPort (409), so the loser reads the trunk again and picks again.
 */
import { NeutronError } from '../errors/index.ts';
import type { NeutronClient, Port, Trunk } from '../neutron/index.ts';

/** What ML2/OVN's trunk driver sets as device_owner while a port is a subport. */
export const SUBPORT_OWNER = 'trunk:subport';

export const VLAN_MIN = 1;
export const VLAN_MAX = 4094;

/** A free VLAN ID of the trunk, searching upwards from `start` (wrapping); undefined when all are used. */
export function freeVlan(trunk: Pick<Trunk, 'subPorts'>, start: number): number | undefined {
  const used = new Set(
    trunk.subPorts.filter((s) => s.segmentationType === 'vlan').map((s) => s.segmentationId),
  );
  const span = VLAN_MAX - VLAN_MIN + 1;
  const from = (((Math.trunc(start) - VLAN_MIN) % span) + span) % span;
  for (let i = 0; i < span; i++) {
    const id = VLAN_MIN + ((from + i) % span);
    if (!used.has(id)) return id;
  }
  return undefined;
}

/** Why the node's port cannot be its trunk parent (another project's), or undefined. */
export function parentProblem(
  port: Pick<Port, 'id' | 'projectId'>,
  projectId: string | undefined,
): string | undefined {
  if (projectId !== undefined && port.projectId !== undefined && port.projectId !== projectId)
    return `refusing the node's port ${port.id} as its trunk parent: it belongs to project ${port.projectId}, not to the cluster's project ${projectId}`;
  return undefined;
}

/** Why the node's trunk cannot carry pods, or undefined when it can. */
export function trunkProblem(trunk: Trunk, projectId: string | undefined): string | undefined {
  if (projectId !== undefined && trunk.projectId !== undefined && trunk.projectId !== projectId)
    return `refusing trunk ${trunk.id} of port ${trunk.portId}: it belongs to project ${trunk.projectId}, not to the cluster's project ${projectId}`;
  if (trunk.status === 'DEGRADED' || trunk.status === 'ERROR')
    return `trunk ${trunk.id} of port ${trunk.portId} is ${trunk.status}: Neutron could not apply its subports; fix or recreate the trunk (openstack network trunk show ${trunk.id})`;
  return undefined;
}

/**
 * The node's trunk, found by its parent port (the node config's `nested.parentPort`) or by the
 * MAC of the node's NIC, and checked: it exists, it is this project's, it is not DEGRADED.
 */
export async function nodeTrunk(
  neutron: NeutronClient,
  node: { parentPort?: string | undefined; nicMac?: string | undefined; nic: string },
): Promise<Trunk> {
  let parent: Port;
  if (node.parentPort === undefined) {
    if (!node.nicMac)
      throw new NeutronError(
        'not-found',
        `the node's NIC ${node.nic} has no MAC to find its trunk parent port by`,
      );
    const found = await neutron.ports.list({ macAddress: node.nicMac });
    if (found.length !== 1)
      throw new NeutronError(
        'not-found',
        found.length === 0
          ? `no Neutron port has the MAC ${node.nicMac} of the node's NIC ${node.nic}: set nested.parentPort to the node's trunk parent port`
          : `${found.length} Neutron ports have the MAC ${node.nicMac} of the node's NIC ${node.nic}: set nested.parentPort to the node's trunk parent port`,
      );
    parent = found[0]!;
  } else {
    const id = node.parentPort;
    parent = await neutron.ports.get(id).catch((e: unknown) => {
      if (e instanceof NeutronError && e.reason === 'not-found')
        throw new NeutronError(
          'not-found',
          `the node's trunk parent port ${id} (nested.parentPort) does not exist in Neutron`,
          { status: 404 },
        );
      throw e;
    });
  }
  const projectId = (await neutron.session.auth()).project?.id;
  // Another project's trunk is invisible to project-scoped credentials: its port says whose it is.
  const foreign = parentProblem(parent, projectId);
  if (foreign) throw new NeutronError('refused', foreign);
  const [trunk] = await neutron.trunks.list({ portId: parent.id });
  if (!trunk)
    throw new NeutronError(
      'not-found',
      `the node's port ${parent.id} is not a trunk's parent: make it one (openstack network trunk create --parent-port ${parent.id} NAME)`,
    );
  const problem = trunkProblem(trunk, projectId);
  if (problem) throw new NeutronError(problem.startsWith('refusing') ? 'refused' : 'conflict', problem);
  return trunk;
}

/** How many times an ADD picks other VLAN IDs after losing one to a concurrent ADD. */
const VLAN_ATTEMPTS = 64;

/** `count` free VLAN IDs of the trunk, from `start` upwards (wrapping); fewer when fewer are left. */
export function freeVlans(trunk: Pick<Trunk, 'subPorts'>, start: number, count: number): number[] {
  const taken = [...trunk.subPorts];
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const vlan = freeVlan({ subPorts: taken }, out.length > 0 ? out[out.length - 1]! + 1 : start);
    if (vlan === undefined) break;
    out.push(vlan);
    taken.push({ portId: '', segmentationType: 'vlan', segmentationId: vlan });
  }
  return out;
}

/**
 * Adds the port to the trunk with a free VLAN ID and returns the ID. A port already on the trunk
 * (a repeated ADD) keeps its VLAN. VLANs all used: NeutronError('over-quota'), naming the trunk.
 */
export async function addSubport(
  neutron: NeutronClient,
  trunk: Trunk,
  portId: string,
  random: () => number = Math.random,
): Promise<number> {
  return (await addSubports(neutron, trunk, [portId], random)).get(portId)!;
}

/**
 * Adds the ports to the trunk in one request, each with a free VLAN ID, and returns each port's
 * VLAN. Neutron applies the request whole or not at all; a VLAN another ADD took meanwhile
 * (DuplicateSubPort) makes it read the trunk again and pick again. Ports already on the trunk
 * keep their VLANs. Too few VLANs left: NeutronError('over-quota'), naming the trunk.
 */
export async function addSubports(
  neutron: NeutronClient,
  trunk: Trunk,
  portIds: readonly string[],
  random: () => number = Math.random,
): Promise<Map<string, number>> {
  let current = trunk;
  for (let attempt = 0; ; attempt++) {
    const vlans = new Map(
      current.subPorts.filter((s) => portIds.includes(s.portId)).map((s) => [s.portId, s.segmentationId]),
    );
    const todo = portIds.filter((id) => !vlans.has(id));
    if (todo.length === 0) return vlans;
    const free = freeVlans(current, VLAN_MIN + Math.floor(random() * (VLAN_MAX - VLAN_MIN + 1)), todo.length);
    if (free.length < todo.length)
      throw new NeutronError(
        'over-quota',
        `trunk ${trunk.id} of port ${trunk.portId} carries ${current.subPorts.length} subports: every VLAN ID (${VLAN_MIN}-${VLAN_MAX}) is taken, none is left for port ${todo.join(', ')}`,
      );
    try {
      await neutron.trunks.addSubports(
        trunk.id,
        todo.map((portId, i) => ({ portId, segmentationType: 'vlan', segmentationId: free[i]! })),
      );
      for (const [i, id] of todo.entries()) vlans.set(id, free[i]!);
      return vlans;
    } catch (e) {
      if (!(e instanceof NeutronError && e.reason === 'conflict') || attempt + 1 >= VLAN_ATTEMPTS) throw e;
      current = await neutron.trunks.get(trunk.id);
      // Other VLANs, or the ports already ride the trunk (a repeated ADD): both are read again.
      if (
        e.neutronType !== 'DuplicateSubPort' &&
        !todo.some((id) => current.subPorts.some((s) => s.portId === id))
      )
        throw e;
    }
  }
}

/** Takes the port off the trunk; a port (or trunk) that is not there any more is success. */
export async function removeSubport(neutron: NeutronClient, trunkId: string, portId: string): Promise<void> {
  await neutron.trunks.removeSubports(trunkId, [portId]).catch((e: unknown) => {
    if (e instanceof NeutronError && e.reason === 'not-found') return;
    throw e;
  });
}

/** Takes the ports off the trunk in one request; ports (or a trunk) not there any more are success. */
export async function removeSubports(
  neutron: NeutronClient,
  trunk: Pick<Trunk, 'id' | 'subPorts'>,
  portIds: readonly string[],
): Promise<void> {
  const on = portIds.filter((id) => trunk.subPorts.some((s) => s.portId === id));
  if (on.length === 0) return;
  await neutron.trunks.removeSubports(trunk.id, on).catch((e: unknown) => {
    if (e instanceof NeutronError && e.reason === 'not-found') return;
    throw e;
  });
}

/**
 * Takes each of the ports off whichever of the project's trunks carries it (a subport's port does
 * not name its trunk), so that Neutron lets them be deleted.
 */
export async function leaveAnyTrunk(
  neutron: NeutronClient,
  ports: readonly Pick<Port, 'id' | 'deviceOwner'>[],
): Promise<void> {
  const subports = ports.filter((p) => p.deviceOwner === SUBPORT_OWNER).map((p) => p.id);
  if (subports.length === 0) return;
  for (const trunk of await neutron.trunks.list({})) await removeSubports(neutron, trunk, subports);
}
