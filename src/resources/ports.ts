/**
 * The network resource submodule's policy for pods' Neutron ports: which port a pod gets (the one
 * kubenetctl reserved, or a new one with the requested subnet/IP, or one on the default network),
 * how it is bound to a node, and how it is released. Neutron alone decides IP uniqueness
 * (409 IpAddressAlreadyAllocated): nothing here allocates addresses locally.
 */
import { InputError, NeutronError } from '../errors/index.ts';
import type { Network, NeutronClient, Port, PortCreate } from '../neutron/index.ts';
import { type AddressingInput, type NicAddressing, nicAddressing } from './addressing.ts';
import { clusterTag, nodeTag, tagValue } from './tags.ts';
import type { NicTarget } from './target.ts';

/** device_owner of every port N-Net makes; GC and DEL look ports up by it. */
export const DEVICE_OWNER = 'compute:nnet';
/** Tag on ports kubenetctl reserved for a pod: kept across pod restarts, never deleted by DEL. */
export const RESERVED_TAG = 'nnet-reserved';

/**
 * The description a reservation gets in its POST. This Neutron takes no tags on create, so tags
 * follow in a PUT; a kubenetctl killed in between leaves a port without tags, and this is what
 * still says whose reservation it is (kubenetctl gc collects it).
 */
export function reservationDescription(cluster: string): string {
  return `${RESERVED_TAG} ${clusterTag(cluster)}`;
}

/** A reservation of `cluster` whose tags were never set (its creator died between POST and PUT). */
export function isUntaggedReservation(
  port: Pick<Port, 'tags' | 'description' | 'deviceOwner'>,
  cluster: string,
): boolean {
  return (
    (port.tags ?? []).length === 0 &&
    port.deviceOwner === DEVICE_OWNER &&
    port.description === reservationDescription(cluster)
  );
}

/**
 * The tag a nested ADD puts on a port it creates: such a port is held by no device until it rides
 * the trunk (Neutron refuses a subport with a device_id), and this is how DEL finds it meanwhile.
 */
export function containerTag(containerId: string): string {
  return `nnet-container=${tagValue(containerId)}`;
}

/** The container a nested ADD made the port for (containerTag), or undefined. */
export function containerOfPort(port: Pick<Port, 'tags'>): string | undefined {
  return port.tags?.find((t) => t.startsWith('nnet-container='))?.slice('nnet-container='.length);
}

/**
 * A port a nested ADD of this node made (containerTag, nodeTag) that is on no trunk and held by no
 * device: the ADD died between creating it and the trunk join. Not a reservation, nor a pool's.
 */
export function isStrayNestedPort(
  port: Pick<Port, 'id' | 'tags' | 'deviceId' | 'deviceOwner' | 'hostId'>,
  onTrunk: ReadonlySet<string>,
): boolean {
  return (
    containerOfPort(port) !== undefined &&
    !onTrunk.has(port.id) &&
    port.deviceId === '' &&
    port.deviceOwner === '' &&
    !port.hostId &&
    !(port.tags ?? []).includes(RESERVED_TAG)
  );
}

export interface PodRef {
  cluster: string;
  namespace: string;
  pod: string;
}

/** Tags that name the owner of a port, so every port traces back to its cluster and pod. */
export function podTags(pod: PodRef, extra: string[] = []): string[] {
  return [
    'nnet',
    clusterTag(pod.cluster),
    `nnet-ns=${tagValue(pod.namespace)}`,
    `nnet-pod=${tagValue(pod.pod)}`,
    ...extra,
  ];
}

/** Reads the pod a port was made for from its tags (undefined when it is not N-Net's). */
export function podOfPort(port: Pick<Port, 'tags'>): PodRef | undefined {
  const tag = (k: string) => port.tags?.find((t) => t.startsWith(`${k}=`))?.slice(k.length + 1);
  const cluster = tag('nnet-cluster');
  const namespace = tag('nnet-ns');
  const pod = tag('nnet-pod');
  return cluster && namespace && pod ? { cluster, namespace, pod } : undefined;
}

export function portName(pod: PodRef): string {
  return `nnet-${pod.namespace}-${pod.pod}`.slice(0, 255);
}

export interface AcquiredPort {
  port: Port;
  /** true: ADD created it and DEL deletes it; false: it was reserved and DEL only unbinds it. */
  createdByAdd: boolean;
}

/** A port's fixed IPs as Neutron takes them: a subnet per family, and the static IP if any. */
export interface FixedIpRequest {
  subnetId: string;
  ip?: string | undefined;
}

/** The fixed IPs of a resolved NIC target (src/resources/target.ts). */
export function fixedIpsOf(target: NicTarget): FixedIpRequest[] {
  return target.fixedIps.map((f) => ({ subnetId: f.subnet.id, ...(f.ip !== undefined ? { ip: f.ip } : {}) }));
}

export interface AcquireRequest {
  pod: PodRef;
  containerId: string;
  node: string;
  /** The port kubenetctl reserved; else a new port is made on `create`. */
  reservedPortId?: string | undefined;
  create?: { networkId: string; fixedIps: FixedIpRequest[]; mac?: string | undefined } | undefined;
  /**
   * Security groups the port must carry: a new port gets exactly these; a reserved one keeps its
   * own and gains these (the cluster's node-access group).
   */
  securityGroupIds?: readonly string[] | undefined;
  /** The networks the pod may be on (clusterNetworkIds); a reserved port elsewhere is refused. */
  allowedNetworkIds?: ReadonlySet<string> | undefined;
}

/**
 * Gets the pod's port bound to `node`: the reserved one (rebound) or a new one. A taken static IP
 * fails with NeutronError('ip-taken') naming the pod or port that holds it. A reserved port that
 * is not this cluster's, or that another container holds, is refused (NeutronError 'refused')
 * and left untouched. On failure nothing is left behind: a port created here is deleted again, a
 * reserved port is unbound again.
 */
export async function acquirePort(neutron: NeutronClient, req: AcquireRequest): Promise<AcquiredPort> {
  if (req.reservedPortId) {
    const reserved = await reservedPort(neutron, { ...req, reservedPortId: req.reservedPortId });
    return { port: await bindReserved(neutron, reserved, req), createdByAdd: false };
  }
  if (!req.create)
    throw new InputError(
      'invalid-config',
      `no network for pod ${req.pod.namespace}/${req.pod.pod}: give it a network config, or set the cluster's default network`,
    );
  const port = await createPodPort(neutron, { ...req, create: req.create });
  try {
    return { port: await ensureBound(neutron, port, req.node), createdByAdd: true };
  } catch (e) {
    await neutron.ports.ensureDeleted(port.id).catch(() => undefined);
    throw e;
  }
}

/**
 * Creates the pod's port, tagged as the pod's. With `node`, bound to it for `containerId`; without
 * (nested mode), unbound and held by no device, as Neutron wants a port it adds to a trunk (the
 * trunk binds it; the caller then sets device_id).
 */
export async function createPodPort(
  neutron: NeutronClient,
  req: Pick<AcquireRequest, 'pod' | 'securityGroupIds'> & {
    create: NonNullable<AcquireRequest['create']>;
    node?: string | undefined;
    containerId?: string | undefined;
    /** Nested mode (no `node`): the VM node whose ADD makes it, so its sweep finds a stray one. */
    madeOn?: string | undefined;
  },
): Promise<Port> {
  const nestedTags =
    req.node === undefined && req.containerId
      ? [containerTag(req.containerId), ...(req.madeOn ? [nodeTag(req.madeOn)] : [])]
      : [];
  const create: PortCreate = {
    ...portCreate(req.pod, req.create),
    ...(req.node !== undefined ? { hostId: req.node, deviceId: req.containerId ?? '' } : { deviceOwner: '' }),
    tags: podTags(req.pod, nestedTags),
    ...(req.securityGroupIds?.length ? { securityGroups: [...req.securityGroupIds] } : {}),
  };
  return neutron.ports.create(create).catch(async (e: unknown) => {
    throw await explainIpTaken(neutron, e, create);
  });
}

/**
 * The port kubenetctl reserved for the pod, checked: it carries this cluster's reservation tags,
 * and no other container holds it (NeutronError 'refused' otherwise, and it is left untouched).
 */
export async function reservedPort(
  neutron: NeutronClient,
  req: {
    pod: PodRef;
    containerId: string;
    reservedPortId: string;
    allowedNetworkIds?: ReadonlySet<string> | undefined;
  },
): Promise<Port> {
  const reserved = await neutron.ports.get(req.reservedPortId).catch((e: unknown) => {
    if (e instanceof NeutronError && e.reason === 'not-found') {
      throw new NeutronError(
        'not-found',
        `the port ${req.reservedPortId} reserved for pod ${req.pod.namespace}/${req.pod.pod} no longer exists in Neutron; delete and recreate the pod's network config`,
        { status: 404 },
      );
    }
    throw e;
  });
  const refusal =
    reservationProblem(reserved, req) ??
    (req.allowedNetworkIds && !req.allowedNetworkIds.has(reserved.networkId)
      ? `refusing to bind port ${reserved.id} for pod ${req.pod.namespace}/${req.pod.pod}: it is on network ${reserved.networkId}, which is not one of cluster ${req.pod.cluster}'s networks`
      : undefined);
  if (refusal) throw new NeutronError('refused', refusal);
  return reserved;
}

/**
 * Binds a checked reservation to `node` for the container (the PUT), adding the security groups
 * the pod must carry. On failure the port is unbound again.
 */
export async function bindReserved(
  neutron: NeutronClient,
  reserved: Port,
  req: Pick<AcquireRequest, 'containerId' | 'node' | 'securityGroupIds'>,
): Promise<Port> {
  const groups = [...new Set([...reserved.securityGroups, ...(req.securityGroupIds ?? [])])];
  const port = await neutron.ports.update(reserved.id, {
    hostId: req.node,
    deviceId: req.containerId,
    deviceOwner: DEVICE_OWNER,
    ...(groups.length !== reserved.securityGroups.length ? { securityGroups: groups } : {}),
  });
  try {
    return await ensureBound(neutron, port, req.node);
  } catch (e) {
    await unbind(neutron, port.id, req.containerId).catch(() => undefined);
    throw e;
  }
}

/**
 * Why a port named as a pod's reservation must not be touched: it does not carry this cluster's
 * reservation tags, it is not N-Net's, or another container holds it. Undefined when it may be bound.
 */
export function reservationProblem(
  port: Pick<Port, 'id' | 'tags' | 'deviceOwner' | 'deviceId' | 'name'>,
  req: { pod: PodRef; containerId: string },
): string | undefined {
  const who = `pod ${req.pod.namespace}/${req.pod.pod}`;
  const tags = port.tags ?? [];
  if (!tags.includes('nnet') || !tags.includes(clusterTag(req.pod.cluster)) || !tags.includes(RESERVED_TAG))
    return `refusing to bind port ${port.id} for ${who}: it is not a reservation of cluster ${req.pod.cluster} (it lacks the nnet, ${clusterTag(req.pod.cluster)} and ${RESERVED_TAG} tags); the store's record for the pod does not match Neutron`;
  // trunk:subport: a nested pod's port while it rides a node's trunk (src/resources/trunk.ts).
  if (port.deviceOwner !== '' && port.deviceOwner !== DEVICE_OWNER && port.deviceOwner !== 'trunk:subport')
    return `refusing to bind port ${port.id} for ${who}: it belongs to device_owner ${port.deviceOwner}, not to N-Net`;
  if (port.deviceId !== '' && port.deviceId !== req.containerId)
    return `refusing to bind port ${port.id} for ${who}: container ${port.deviceId} holds it; delete that pod's sandbox first`;
  return undefined;
}

function portCreate(
  pod: PodRef,
  c: { networkId: string; fixedIps: FixedIpRequest[]; mac?: string | undefined },
): PortCreate {
  return {
    networkId: c.networkId,
    name: portName(pod),
    ...(c.fixedIps.length > 0
      ? {
          fixedIps: c.fixedIps.map((f) => ({
            subnetId: f.subnetId,
            ...(f.ip !== undefined ? { ipAddress: f.ip } : {}),
          })),
        }
      : {}),
    ...(c.mac ? { macAddress: c.mac } : {}),
    deviceOwner: DEVICE_OWNER,
  };
}

/**
 * ML2 answers a bind to a chassis it still counts as a dead agent (just registered, or not yet
 * caught up with NB_Global.nb_cfg) with vif_type binding_failed, and such a port never goes
 * ACTIVE. Rebinding once the agent is alive fixes it; a chassis that never shows up is an error.
 */
export async function ensureBound(
  neutron: NeutronClient,
  port: Port,
  node: string,
  attempts = 5,
): Promise<Port> {
  let current = port;
  for (let i = 0; current.vifType === 'binding_failed' && i < attempts; i++) {
    await new Promise((r) => setTimeout(r, 200 * 2 ** i));
    await neutron.ports.update(port.id, { hostId: '' });
    current = await neutron.ports.update(port.id, { hostId: node });
  }
  if (current.vifType === 'binding_failed') {
    throw new NeutronError(
      'bad-request',
      `Neutron could not bind port ${port.id} to node "${node}": no live OVN chassis with that hostname (is ovn-controller running there with external_ids:hostname=${node}?)`,
    );
  }
  return current;
}

/** Turns Neutron's "IP already allocated" into a message naming who holds the IP. */
async function explainIpTaken(neutron: NeutronClient, e: unknown, create: PortCreate): Promise<unknown> {
  if (!(e instanceof NeutronError) || e.reason !== 'ip-taken') return e;
  for (const f of create.fixedIps ?? []) {
    if (!f.subnetId || !f.ipAddress) continue;
    const holder = await neutron.ports.findByIp(f.subnetId, f.ipAddress).catch(() => undefined);
    if (holder) {
      return new NeutronError('ip-taken', `static IP ${f.ipAddress} is taken by ${describePort(holder)}`, {
        status: 409,
        neutronType: 'IpAddressAlreadyAllocated',
        cause: e,
      });
    }
  }
  return e;
}

/** "pod team-a/pod2 (port 1b2c…)" for N-Net's ports, else "port NAME (ID), device_owner X". */
export function describePort(port: Port): string {
  const pod = podOfPort(port);
  if (pod) return `pod ${pod.namespace}/${pod.pod} (port ${port.id})`;
  const name = port.name ? `${port.name} (${port.id})` : port.id;
  return `port ${name}${port.deviceOwner ? `, device_owner ${port.deviceOwner}` : ''}`;
}

/**
 * The port's addressing (src/resources/addressing.ts) from its subnets and its network's MTU,
 * fetched from Neutron in parallel.
 */
export async function addressing(
  neutron: NeutronClient,
  port: Port,
  opts: { mtu?: number | undefined; extraRoutes?: AddressingInput['extraRoutes'] } = {},
): Promise<NicAddressing> {
  const subnetIds = [...new Set(port.fixedIps.map((f) => f.subnetId))];
  if (subnetIds.length === 0) throw new NeutronError('bad-reply', `port ${port.id} has no IP address`);
  const [subnets, network] = await Promise.all([
    neutron.subnets.list({ id: subnetIds }),
    opts.mtu === undefined
      ? neutron.networks.get(port.networkId)
      : Promise.resolve(undefined as Network | undefined),
  ]);
  for (const id of subnetIds)
    if (!subnets.some((s) => s.id === id))
      throw new NeutronError('not-found', `subnet ${id} of port ${port.id} not found`, { status: 404 });
  return nicAddressing({
    port,
    subnets,
    mtu: opts.mtu ?? network?.mtu ?? 1500,
    ...(opts.extraRoutes ? { extraRoutes: opts.extraRoutes } : {}),
  });
}

/** Unbinds a reserved port, unless another container has bound it since. */
async function unbind(neutron: NeutronClient, portId: string, containerId: string): Promise<void> {
  const port = await neutron.ports.get(portId);
  if (port.deviceId && port.deviceId !== containerId) return;
  await neutron.ports.update(portId, { hostId: '', deviceId: '' });
}

/**
 * Releases what ADD acquired: deletes a port ADD created, unbinds a reserved one. Ports already
 * gone are success.
 */
export async function releasePort(
  neutron: NeutronClient,
  p: { portId: string; createdByAdd: boolean; containerId: string },
): Promise<void> {
  if (p.createdByAdd) {
    await neutron.ports.ensureDeleted(p.portId);
    return;
  }
  await unbind(neutron, p.portId, p.containerId).catch((e: unknown) => {
    if (e instanceof NeutronError && e.reason === 'not-found') return;
    throw e;
  });
}

/** N-Net's ports bound for this container (a crashed ADD may have made one without a record). */
export function containerPorts(neutron: NeutronClient, containerId: string): Promise<Port[]> {
  return neutron.ports.list({ deviceId: containerId, deviceOwner: DEVICE_OWNER });
}

/**
 * Nested mode's ports of this container: the ones it holds (device_id, whatever the trunk made
 * their owner) and the ones an ADD created for it that never reached the trunk (containerTag).
 */
export async function nestedContainerPorts(
  neutron: NeutronClient,
  cluster: string,
  containerId: string,
): Promise<Port[]> {
  const ours = ['nnet', clusterTag(cluster)];
  const [held, made] = await Promise.all([
    neutron.ports.list({ deviceId: containerId, tags: ours }),
    neutron.ports.list({ tags: [...ours, containerTag(containerId)] }),
  ]);
  return [...new Map([...held, ...made].map((p) => [p.id, p])).values()];
}

/** Whether a port is a reservation (kept across pod restarts) rather than one ADD made. */
export function isReserved(port: Pick<Port, 'tags'>): boolean {
  return port.tags?.includes(RESERVED_TAG) ?? false;
}

export interface ReserveRequest {
  pod: PodRef;
  networkId: string;
  fixedIps: FixedIpRequest[];
  mac?: string | undefined;
  /** The port's security groups; none: Neutron gives it the project's default group. */
  securityGroupIds?: readonly string[] | undefined;
}

/**
 * Reserves a pod's IPs at once by creating its (unbound) Neutron port, so that a taken IP fails
 * before anything else happens. kubenetctl calls this; ADD later binds the port.
 */
export async function reservePort(neutron: NeutronClient, req: ReserveRequest): Promise<Port> {
  const create: PortCreate = {
    ...portCreate(req.pod, req),
    description: reservationDescription(req.pod.cluster),
    tags: podTags(req.pod, [RESERVED_TAG]),
    ...(req.securityGroupIds?.length ? { securityGroups: [...req.securityGroupIds] } : {}),
  };
  return neutron.ports.create(create).catch(async (e: unknown) => {
    throw await explainIpTaken(neutron, e, create);
  });
}
