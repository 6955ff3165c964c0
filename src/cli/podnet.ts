/**
 * A pod's network, the paper's deep-customisation flow on N-Net's side: validate the request
 * against Neutron, reserve the IP at once by creating the pod's (unbound) Neutron port, record
 * the pod's config for the CNI plugin; and release both again. kubectl is not involved here.
 */
import { InputError, NeutronError, StoreError } from '../errors/index.ts';
import type { Port, Subnet } from '../neutron/index.ts';
import { reservePort } from '../resources/index.ts';
import type { PodKey, PodNetworkConfig, PodNetworkConfigInput } from '../store/index.ts';
import {
  type ClusterScope,
  clusterSubnets,
  ipProblem,
  resolveNetwork,
  resolveSubnet,
  subnetContaining,
} from './lookup.ts';
import type { PodNetworkRequest } from './types.ts';

/** What a request resolves to in Neutron. */
export interface PodTarget {
  networkId: string;
  subnet: Subnet | undefined;
  ip: string | undefined;
  mac: string | undefined;
}

const podName = (r: { namespace: string; pod: string }) => `pod ${r.namespace}/${r.pod}`;

/**
 * Checks a request against Neutron and resolves it, changing nothing: the network and subnet
 * exist (and the subnet is on the network when both are given), the IP lies inside the subnet
 * and is neither its network, broadcast nor gateway address. No network, subnet or IP: the
 * cluster's default network.
 */
export async function resolvePodTarget(scope: ClusterScope, request: PodNetworkRequest): Promise<PodTarget> {
  const who = podName(request);
  const network = request.network !== undefined ? await resolveNetwork(scope, request.network) : undefined;
  let networkId = network?.id;
  let subnet: Subnet | undefined;
  if (request.subnet !== undefined) subnet = await resolveSubnet(scope, request.subnet, network);
  else if (request.ip !== undefined) {
    const candidates = network
      ? await scope.neutron.subnets.list({ networkId: network.id })
      : await clusterSubnets(scope);
    subnet = subnetContaining(candidates, request.ip);
    if (!subnet)
      throw new InputError(
        'invalid-argument',
        `${who}: no subnet ${network ? `of network ${network.name || network.id}` : `of cluster ${scope.cluster.name}`} contains IP ${request.ip}; give the subnet (--subnet or nnet.io/subnet)`,
      );
  } else if (!network) {
    const { defaultNetworkId, defaultSubnetId } = scope.cluster;
    if (!defaultNetworkId)
      throw new InputError(
        'invalid-argument',
        `${who}: no network or subnet given, and cluster ${scope.cluster.name} has no default network`,
      );
    networkId = defaultNetworkId;
    if (defaultSubnetId) subnet = await scope.neutron.subnets.get(defaultSubnetId);
  }
  // resolveSubnet checked that a subnet given with a network is on it.
  if (subnet) networkId = subnet.networkId;
  if (request.ip !== undefined && subnet) {
    const problem = ipProblem(request.ip, subnet);
    if (problem) throw new InputError('invalid-argument', `${who}: ${problem}`);
  }
  return { networkId: networkId!, subnet, ip: request.ip, mac: request.mac };
}

export interface PodReservation {
  config: PodNetworkConfig;
  /** The port this call created; undefined when an identical config existed already. */
  port: Port | undefined;
  /** Deletes exactly what this call created (nothing when it created nothing). */
  undo(): Promise<void>;
}

function wantedConfig(key: PodKey, target: PodTarget): PodNetworkConfigInput {
  return {
    ...key,
    networkId: target.networkId,
    ...(target.subnet ? { subnetId: target.subnet.id } : {}),
    ...(target.ip !== undefined ? { ip: target.ip } : {}),
    ...(target.mac !== undefined ? { mac: target.mac } : {}),
  };
}

function sameRequest(a: PodNetworkConfigInput, b: PodNetworkConfigInput): boolean {
  return (
    a.networkId === b.networkId &&
    a.subnetId === b.subnetId &&
    a.ip === b.ip &&
    a.mac?.toLowerCase() === b.mac?.toLowerCase()
  );
}

function describeConfig(c: PodNetworkConfigInput): string {
  const parts = [
    c.subnetId ? `subnet ${c.subnetId}` : `network ${c.networkId}`,
    ...(c.ip ? [`IP ${c.ip}`] : []),
    ...(c.mac ? [`MAC ${c.mac}`] : []),
  ];
  return parts.join(', ');
}

function alreadyConfigured(existing: PodNetworkConfig): StoreError {
  return new StoreError(
    'conflict',
    `${podName(existing)} already has an N-Net network config in cluster ${existing.cluster} (${describeConfig(existing)}); release it first with 'kubenetctl delete podnetwork ${existing.pod} -n ${existing.namespace}'`,
  );
}

/**
 * Validates, reserves the pod's port (a taken IP fails here, naming its holder) and records the
 * pod's config. An existing config for the pod is an error unless it asks for the same. On any
 * failure nothing of this call is left behind.
 */
export async function reservePodNetwork(
  scope: ClusterScope,
  request: PodNetworkRequest,
): Promise<PodReservation> {
  const key: PodKey = { cluster: scope.cluster.name, namespace: request.namespace, pod: request.pod };
  const target = await resolvePodTarget(scope, request);
  const wanted = wantedConfig(key, target);
  const existing = await scope.store.podConfigs.get(key);
  if (existing) {
    if (sameRequest(existing, wanted)) return { config: existing, port: undefined, undo: async () => {} };
    throw alreadyConfigured(existing);
  }
  const port = await reservePort(scope.neutron, {
    pod: key,
    networkId: target.networkId,
    subnetId: target.subnet?.id,
    ip: target.ip,
    mac: target.mac,
  });
  let config: PodNetworkConfig;
  try {
    config = await scope.store.podConfigs.create({ ...wanted, reservedPortId: port.id });
  } catch (e) {
    await scope.neutron.ports.ensureDeleted(port.id).catch(() => undefined);
    if (e instanceof StoreError && e.reason === 'conflict') {
      const other = await scope.store.podConfigs.get(key).catch(() => undefined);
      if (other) throw alreadyConfigured(other);
    }
    throw e;
  }
  return {
    config,
    port,
    undo: async () => {
      await scope.neutron.ports.ensureDeleted(port.id);
      const current = await scope.store.podConfigs.get(key);
      if (current?.reservedPortId === port.id) await scope.store.podConfigs.delete(key);
    },
  };
}

export interface ReleaseOptions {
  /** Release even when the port is bound to a node / an attachment is recorded. */
  force: boolean;
}

/**
 * Releases a pod's reservation: deletes its reserved port, then its config. Without `force`, a
 * pod whose network is plugged (port bound to a node, or an attachment recorded) is refused.
 * Returns false when the pod had no config (nothing to release).
 */
export async function releasePodNetwork(
  scope: ClusterScope,
  key: PodKey,
  options: ReleaseOptions,
): Promise<boolean> {
  const config = await scope.store.podConfigs.get(key);
  if (!config) return false;
  if (!options.force) {
    const attachments = (await scope.store.attachments.list({ cluster: key.cluster })).filter(
      (a) => a.namespace === key.namespace && a.pod === key.pod,
    );
    const port = config.reservedPortId
      ? await scope.neutron.ports.get(config.reservedPortId).catch((e: unknown) => {
          if (e instanceof NeutronError && e.reason === 'not-found') return undefined;
          throw e;
        })
      : undefined;
    const node = port?.hostId || attachments[0]?.node;
    if (node)
      throw new InputError(
        'invalid-argument',
        `${podName(key)} is running: its port ${config.reservedPortId ?? attachments[0]?.portId} is bound to node ${node}; delete the pod first (kubenetctl delete pod ${key.pod} -n ${key.namespace}), or give --force`,
      );
  }
  if (config.reservedPortId) await scope.neutron.ports.ensureDeleted(config.reservedPortId);
  await scope.store.podConfigs.delete(key);
  return true;
}
