/**
 * A pod's network, the paper's deep-customisation flow on N-Net's side: resolve the request
 * against Neutron (src/resources/target.ts, the resolver ADD uses too), reserve its IPs at once by
 * creating the pod's (unbound) Neutron port, record the pod's config for the CNI plugin; and
 * release both again. kubectl is not involved here.
 */
import { InputError, NeutronError, StoreError } from '../errors/index.ts';
import type { Port } from '../neutron/index.ts';
import {
  type ClusterScope,
  clusterTag,
  completeNodeAccess,
  DEVICE_OWNER,
  fixedIpsOf,
  type NicTarget,
  podOfPort,
  portGroups,
  RESERVED_TAG,
  reservePort,
  resolveNicTarget,
  resolveSecurityGroups,
  tagValue,
} from '../resources/index.ts';
import type { PodKey, PodNetworkConfig, PodNicConfig } from '../store/index.ts';
import { belongsToAnotherProject, ownedBy, type UserProject, userProject } from './ownership.ts';
import type { PodNetworkRequest } from './types.ts';

/** The interface a pod's (only) N-Net NIC gets. */
const IFNAME = 'eth0';

const podName = (r: { namespace: string; pod: string }) => `pod ${r.namespace}/${r.pod}`;

/**
 * Checks a request against Neutron and resolves it, changing nothing: the network and subnets
 * exist and belong together, each static IP lies inside its subnet and is none of its reserved
 * addresses. No network, subnet or IP: the cluster's default network.
 */
export function resolvePodNic(scope: ClusterScope, request: PodNetworkRequest): Promise<NicTarget> {
  return resolveNicTarget(
    scope,
    { network: request.network, subnet: request.subnet, ips: request.ips, mac: request.mac },
    { who: podName(request) },
  );
}

/** A dry run: the request resolved against Neutron (its network, subnets, IPs, groups), nothing changed. */
export async function checkPodNetwork(scope: ClusterScope, request: PodNetworkRequest): Promise<void> {
  await wantedNics(scope, request, await wantedGroups(scope, await userProject(scope), request));
}

export interface PodReservation {
  config: PodNetworkConfig;
  /** The port this call created; undefined when an identical config existed already. */
  port: Port | undefined;
  /** Deletes exactly what this call created (nothing when it created nothing). */
  undo(): Promise<void>;
}

/** The NIC config a resolved target asks for (before a port is reserved for it). */
function wantedNic(target: NicTarget, securityGroupIds: string[] | undefined, ifname = IFNAME): PodNicConfig {
  return {
    ifname,
    networkId: target.network.id,
    fixedIps: fixedIpsOf(target),
    ...(target.mac !== undefined ? { mac: target.mac } : {}),
    ...(securityGroupIds?.length ? { securityGroupIds } : {}),
  };
}

function sameNic(a: PodNicConfig, b: PodNicConfig): boolean {
  const ips = (n: PodNicConfig) => n.fixedIps.map((f) => `${f.subnetId}=${f.ip ?? ''}`).join(' ');
  const groups = (n: PodNicConfig) => [...(n.securityGroupIds ?? [])].sort().join(' ');
  return (
    a.ifname === b.ifname &&
    a.networkId === b.networkId &&
    ips(a) === ips(b) &&
    a.mac?.toLowerCase() === b.mac?.toLowerCase() &&
    groups(a) === groups(b)
  );
}

/**
 * The request's security groups as ids of the user's project (an unknown group, or another
 * project's, fails naming it); undefined when it asks for none.
 */
async function wantedGroups(
  scope: ClusterScope,
  project: UserProject,
  request: Pick<PodNetworkRequest, 'securityGroups'>,
): Promise<string[] | undefined> {
  if (!request.securityGroups?.length) return undefined;
  return (await resolveSecurityGroups(scope.neutron, project.id, request.securityGroups)).map((g) => g.id);
}

/**
 * The groups a reserved port is created with: the pod's own, else the cluster's default set
 * (else Neutron gives it the project's default group). ADD adds the node-access group at binding.
 */
async function reservationGroups(
  scope: ClusterScope,
  own: string[] | undefined,
): Promise<string[] | undefined> {
  if (own) return own;
  const cluster = await scope.store.clusters.get(scope.cluster.name);
  return cluster?.podSecurityGroupIds;
}

function sameRequest(existing: PodNetworkConfig, wanted: readonly PodNicConfig[]): boolean {
  return existing.nics.length === wanted.length && wanted.every((w, i) => sameNic(existing.nics[i]!, w));
}

/**
 * Every NIC the request asks for, resolved: eth0 (the request's network, subnet, IPs, MAC), then
 * net1, net2, … (each extra network and its IP); all with the request's security groups.
 */
async function wantedNics(
  scope: ClusterScope,
  request: PodNetworkRequest,
  groups: string[] | undefined,
): Promise<PodNicConfig[]> {
  const nics = [wantedNic(await resolvePodNic(scope, request), groups)];
  for (const [i, extra] of (request.extraNics ?? []).entries()) {
    const ifname = `net${i + 1}`;
    const target = await resolveNicTarget(
      scope,
      { network: extra.network, ips: extra.ips },
      { who: `${podName(request)} ${ifname}` },
    );
    nics.push(wantedNic(target, groups, ifname));
  }
  return nics;
}

function describeNic(n: PodNicConfig): string {
  const ips = n.fixedIps.flatMap((f) => (f.ip !== undefined ? [f.ip] : []));
  const parts = [
    n.fixedIps.length > 0
      ? `subnet ${n.fixedIps.map((f) => f.subnetId).join(' and ')}`
      : `network ${n.networkId}`,
    ...(ips.length > 0 ? [`IP ${ips.join(' and ')}`] : []),
    ...(n.mac ? [`MAC ${n.mac}`] : []),
  ];
  return parts.join(', ');
}

function alreadyConfigured(existing: PodNetworkConfig): StoreError {
  return new StoreError(
    'conflict',
    `${podName(existing)} already has an N-Net network config in cluster ${existing.cluster} (${existing.nics.map(describeNic).join('; ')}); release it first with 'kubenetctl delete podnetwork ${existing.pod} -n ${existing.namespace}'`,
  );
}

/** An existing config for the pod: another project's is refused without describing it. */
async function refuseExisting(
  scope: ClusterScope,
  project: UserProject,
  existing: PodNetworkConfig,
): Promise<never> {
  if (!(await ownedBy(scope, project, existing))) throw belongsToAnotherProject(existing, project);
  throw alreadyConfigured(existing);
}

/**
 * Validates, reserves the pod's port (a taken IP fails here, naming its holder) and records the
 * pod's config with the user's project. An existing config for the pod is an error unless it is
 * the user's project's and asks for the same. On any failure nothing of this call is left behind.
 */
export async function reservePodNetwork(
  scope: ClusterScope,
  request: PodNetworkRequest,
): Promise<PodReservation> {
  const key: PodKey = { cluster: scope.cluster.name, namespace: request.namespace, pod: request.pod };
  const project = await userProject(scope);
  const existing = await scope.store.podConfigs.get(key);
  // Another project's config is refused before anything is resolved or compared.
  if (existing && !(await ownedBy(scope, project, existing)))
    throw belongsToAnotherProject(existing, project);
  const wanted = await wantedNics(scope, request, await wantedGroups(scope, project, request));
  if (existing) {
    if (sameRequest(existing, wanted)) return { config: existing, port: undefined, undo: async () => {} };
    throw alreadyConfigured(existing);
  }
  // One port per NIC, eth0's first; a failure deletes the ones made before it.
  const ports: Port[] = [];
  let config: PodNetworkConfig;
  try {
    const groups = await reservationGroups(scope, wanted[0]!.securityGroupIds);
    for (const nic of wanted)
      ports.push(
        await reservePort(scope.neutron, {
          pod: key,
          networkId: nic.networkId,
          fixedIps: nic.fixedIps,
          mac: nic.mac,
          securityGroupIds: groups,
        }),
      );
    config = await scope.store.podConfigs.create({
      ...key,
      projectId: project.id,
      nics: wanted.map((nic, i) => ({ ...nic, reservedPortId: ports[i]!.id })),
    });
  } catch (e) {
    for (const port of ports) await scope.neutron.ports.ensureDeleted(port.id).catch(() => undefined);
    if (e instanceof StoreError && e.reason === 'conflict') {
      const other = await scope.store.podConfigs.get(key).catch(() => undefined);
      if (other) return refuseExisting(scope, project, other);
    }
    throw e;
  }
  return {
    config,
    port: ports[0],
    undo: async () => {
      for (const port of ports) await scope.neutron.ports.ensureDeleted(port.id);
      const current = await scope.store.podConfigs.get(key);
      if (current && reservedPortIds(current).includes(ports[0]!.id))
        await scope.store.podConfigs.delete(key);
    },
  };
}

/** The ports a config holds reservations with, one per NIC that has one. */
export function reservedPortIds(config: Pick<PodNetworkConfig, 'nics'>): string[] {
  return config.nics.flatMap((n) => (n.reservedPortId ? [n.reservedPortId] : []));
}

export interface ReleaseOptions {
  /** Release even when a port is bound to a node / an attachment is recorded. */
  force: boolean;
}

/**
 * Why a port a config names must not be deleted as its reservation: it does not carry the pod's
 * reservation tags (a forged or mistaken row), or a device other than N-Net owns it.
 */
export function notItsReservation(port: Port, key: PodKey): string | undefined {
  const pod = podOfPort(port);
  const tags = port.tags ?? [];
  const tagged =
    tags.includes('nnet') &&
    tags.includes(clusterTag(key.cluster)) &&
    tags.includes(RESERVED_TAG) &&
    pod?.namespace === tagValue(key.namespace) &&
    pod.pod === tagValue(key.pod);
  if (!tagged)
    return `refusing to delete port ${port.id}: it is not the reservation of ${podName(key)} in cluster ${key.cluster} (it lacks the nnet, ${clusterTag(key.cluster)}, ${RESERVED_TAG} and the pod's tags); the store's record for the pod does not match Neutron`;
  if (port.deviceOwner !== '' && port.deviceOwner !== DEVICE_OWNER)
    return `refusing to delete port ${port.id} of ${podName(key)}: it belongs to device_owner ${port.deviceOwner}, not to N-Net`;
  return undefined;
}

/**
 * The config's reserved ports as they are in Neutron: undefined for one that is gone. Only for a
 * config of the user's own project (checked before): a 404 then means gone, not "not yours".
 */
async function currentPorts(scope: ClusterScope, config: PodNetworkConfig): Promise<(Port | undefined)[]> {
  const ports: (Port | undefined)[] = [];
  for (const portId of reservedPortIds(config)) {
    const port = await scope.neutron.ports.get(portId).catch((e: unknown) => {
      if (e instanceof NeutronError && e.reason === 'not-found') return undefined;
      throw e;
    });
    if (port) {
      const problem = notItsReservation(port, config);
      if (problem) throw new NeutronError('refused', problem);
    }
    ports.push(port);
  }
  return ports;
}

/** The node a pod's network is plugged on (a reserved port bound, or an attachment), if any. */
async function pluggedOn(
  scope: ClusterScope,
  config: PodNetworkConfig,
  ports: readonly (Port | undefined)[],
): Promise<{ node: string; portId: string } | undefined> {
  const bound = ports.find((p) => p?.hostId);
  if (bound) return { node: bound.hostId, portId: bound.id };
  const attachment = (await scope.store.attachments.list({ cluster: config.cluster })).find(
    (a) => a.namespace === config.namespace && a.pod === config.pod,
  );
  return attachment ? { node: attachment.node, portId: attachment.portId } : undefined;
}

/**
 * Releases a pod's reservation: deletes every NIC's reserved port, then its config. A config of
 * another project is refused before Neutron is asked anything (its port would answer 404, which
 * is "not yours", not "gone"); so is a port that is not the pod's reservation. Without `force`, a
 * pod whose network is plugged (a port bound to a node, or an attachment recorded) is refused.
 * Returns false when the pod had no config (nothing to release).
 */
export async function releasePodNetwork(
  scope: ClusterScope,
  key: PodKey,
  options: ReleaseOptions,
): Promise<boolean> {
  const config = await scope.store.podConfigs.get(key);
  if (!config) return false;
  const project = await userProject(scope);
  if (!(await ownedBy(scope, project, config))) throw belongsToAnotherProject(config, project);
  const ports = await currentPorts(scope, config);
  if (!options.force) {
    const plugged = await pluggedOn(scope, config, ports);
    if (plugged)
      throw new InputError(
        'invalid-argument',
        `${podName(key)} is running: its port ${plugged.portId} is bound to node ${plugged.node}; delete the pod first (kubenetctl delete pod ${key.pod} -n ${key.namespace}), or give --force`,
      );
  }
  for (const port of ports) if (port) await scope.neutron.ports.ensureDeleted(port.id);
  await scope.store.podConfigs.delete(key);
  return true;
}

/**
 * `set podnetwork POD --security-group …`: the pod's groups, changed in the store and on its
 * reserved port at once (no re-plug, no IP change: OVN applies a port's new groups to the running
 * pod). A bound port keeps the cluster's node-access group, so probes and Services still reach it.
 * Another project's config is refused; an unknown group fails before anything changes.
 */
export async function setPodSecurityGroups(
  scope: ClusterScope,
  key: PodKey,
  refs: readonly string[],
): Promise<PodNetworkConfig> {
  const config = await scope.store.podConfigs.get(key);
  if (!config)
    throw new StoreError(
      'not-found',
      `${podName(key)} has no N-Net network config in cluster ${key.cluster}`,
    );
  const project = await userProject(scope);
  if (!(await ownedBy(scope, project, config))) throw belongsToAnotherProject(config, project);
  const groups = (await wantedGroups(scope, project, { securityGroups: [...refs] }))!;
  // Every NIC's port: the pod's groups are one set.
  const ports = (await currentPorts(scope, config)).filter((p) => p !== undefined);
  // A bound port keeps the node-access group the cluster record holds (the one ADD gave it).
  const access = completeNodeAccess((await scope.store.clusters.get(key.cluster))?.nodeAccess);
  for (const port of ports)
    await scope.neutron.ports.update(port.id, {
      securityGroups: portGroups(groups, port.hostId ? access?.securityGroupId : undefined),
    });
  const updated = await scope.store.podConfigs.update(key, (cur) => {
    if (!cur) return undefined;
    const { createdAt: _, ...rest } = cur;
    return { ...rest, nics: cur.nics.map((n) => ({ ...n, securityGroupIds: groups })) };
  });
  if (!updated)
    throw new StoreError(
      'not-found',
      `${podName(key)} has no N-Net network config in cluster ${key.cluster}`,
    );
  return updated;
}
