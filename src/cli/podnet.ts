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
  fixedIpsOf,
  type NicTarget,
  reservePort,
  resolveNicTarget,
} from '../resources/index.ts';
import type { PodKey, PodNetworkConfig, PodNicConfig } from '../store/index.ts';
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

export interface PodReservation {
  config: PodNetworkConfig;
  /** The port this call created; undefined when an identical config existed already. */
  port: Port | undefined;
  /** Deletes exactly what this call created (nothing when it created nothing). */
  undo(): Promise<void>;
}

/** The NIC config a resolved target asks for (before a port is reserved for it). */
function wantedNic(target: NicTarget): PodNicConfig {
  return {
    ifname: IFNAME,
    networkId: target.network.id,
    fixedIps: fixedIpsOf(target),
    ...(target.mac !== undefined ? { mac: target.mac } : {}),
  };
}

function sameNic(a: PodNicConfig, b: PodNicConfig): boolean {
  const ips = (n: PodNicConfig) => n.fixedIps.map((f) => `${f.subnetId}=${f.ip ?? ''}`).join(' ');
  return (
    a.ifname === b.ifname &&
    a.networkId === b.networkId &&
    ips(a) === ips(b) &&
    a.mac?.toLowerCase() === b.mac?.toLowerCase()
  );
}

function sameRequest(existing: PodNetworkConfig, wanted: PodNicConfig): boolean {
  return existing.nics.length === 1 && sameNic(existing.nics[0]!, wanted);
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
  const wanted = wantedNic(await resolvePodNic(scope, request));
  const existing = await scope.store.podConfigs.get(key);
  if (existing) {
    if (sameRequest(existing, wanted)) return { config: existing, port: undefined, undo: async () => {} };
    throw alreadyConfigured(existing);
  }
  const port = await reservePort(scope.neutron, {
    pod: key,
    networkId: wanted.networkId,
    fixedIps: wanted.fixedIps,
    mac: wanted.mac,
  });
  let config: PodNetworkConfig;
  try {
    config = await scope.store.podConfigs.create({ ...key, nics: [{ ...wanted, reservedPortId: port.id }] });
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
      if (current && reservedPortIds(current).includes(port.id)) await scope.store.podConfigs.delete(key);
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

/** The node a pod's network is plugged on (a reserved port bound, or an attachment), if any. */
async function pluggedOn(
  scope: ClusterScope,
  config: PodNetworkConfig,
): Promise<{ node: string; portId: string } | undefined> {
  for (const portId of reservedPortIds(config)) {
    const port = await scope.neutron.ports.get(portId).catch((e: unknown) => {
      if (e instanceof NeutronError && e.reason === 'not-found') return undefined;
      throw e;
    });
    if (port?.hostId) return { node: port.hostId, portId };
  }
  const attachment = (await scope.store.attachments.list({ cluster: config.cluster })).find(
    (a) => a.namespace === config.namespace && a.pod === config.pod,
  );
  return attachment ? { node: attachment.node, portId: attachment.portId } : undefined;
}

/**
 * Releases a pod's reservation: deletes every NIC's reserved port, then its config. Without
 * `force`, a pod whose network is plugged (a port bound to a node, or an attachment recorded) is
 * refused. Returns false when the pod had no config (nothing to release).
 */
export async function releasePodNetwork(
  scope: ClusterScope,
  key: PodKey,
  options: ReleaseOptions,
): Promise<boolean> {
  const config = await scope.store.podConfigs.get(key);
  if (!config) return false;
  if (!options.force) {
    const plugged = await pluggedOn(scope, config);
    if (plugged)
      throw new InputError(
        'invalid-argument',
        `${podName(key)} is running: its port ${plugged.portId} is bound to node ${plugged.node}; delete the pod first (kubenetctl delete pod ${key.pod} -n ${key.namespace}), or give --force`,
      );
  }
  for (const portId of reservedPortIds(config)) await scope.neutron.ports.ensureDeleted(portId);
  await scope.store.podConfigs.delete(key);
  return true;
}
