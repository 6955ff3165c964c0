/**
 * Names as users type them → Neutron resources, looked up in the cluster's scope first: the
 * networks, subnets and routers N-Net manages for the cluster (the store) and its default
 * network, then anything visible in Neutron. So `--subnet 1.2.0.0/16` means the cluster's
 * 1.2.0.0/16 even when other projects' networks use the same range. kubenetctl and ADD both
 * look up here (through target.ts), so a name means the same on both sides.
 */
import { InputError, NeutronError } from '../errors/index.ts';
import type { Network, NeutronClient, Router, Subnet } from '../neutron/index.ts';
import type { Cluster, ManagedResource, ResourceKind, Store } from '../store/index.ts';
import { canonicalCidr, checkHostAddress, ipInCidr, isUuid, parseCidr, parseIp } from './ip.ts';

/** A cluster's scope for lookups: its name, its defaults, its managed resources (the store). */
export interface ClusterScope {
  store: Store;
  cluster: Pick<Cluster, 'name' | 'defaultNetworkId' | 'defaultSubnetId' | 'allowedNetworkIds'>;
  neutron: NeutronClient;
}

/**
 * The networks the cluster's pods may be on: those N-Net manages for it, its default network,
 * and its allow-list. A NIC on any other network is refused, whoever asks (kubenetctl, or a store
 * row read at ADD): the cluster's credentials may reach networks that are not the cluster's.
 */
export async function clusterNetworkIds(
  scope: Pick<ClusterScope, 'store' | 'cluster'>,
): Promise<Set<string>> {
  const managed = await scope.store.resources.list({ kind: 'network', cluster: scope.cluster.name });
  return new Set([
    ...managed.map((r) => r.id),
    ...(scope.cluster.defaultNetworkId ? [scope.cluster.defaultNetworkId] : []),
    ...(scope.cluster.allowedNetworkIds ?? []),
  ]);
}

/** Why a network is not the cluster's to put pods on, or undefined. */
export async function networkProblem(
  scope: Pick<ClusterScope, 'store' | 'cluster'>,
  network: { id: string; name?: string },
): Promise<string | undefined> {
  if ((await clusterNetworkIds(scope)).has(network.id)) return undefined;
  return `network ${network.name ? `${network.name} (${network.id})` : network.id} is not one of cluster ${scope.cluster.name}'s networks (neither managed by N-Net for it, nor its default network, nor on its allow-list)`;
}

/** `pods-a (1.2.0.0/16)`, or the CIDR of an unnamed subnet. */
export function subnetLabel(s: Pick<Subnet, 'name' | 'cidr'>): string {
  return s.name ? `${s.name} (${s.cidr})` : s.cidr;
}

export function networkLabel(n: Pick<Network, 'name' | 'id'>): string {
  return n.name ? `${n.name} (${n.id})` : n.id;
}

/** Whether a subnet is the one `ref` names: its id, its name or its CIDR. */
export function subnetMatches(s: Subnet, ref: string): boolean {
  if (s.id === ref || s.name === ref) return true;
  const want = ref.includes('/') ? canonicalCidr(ref) : undefined;
  return want !== undefined && canonicalCidr(s.cidr) === want;
}

/** The cluster's managed resources of a kind named by id, name (or, subnets, CIDR). */
export async function findManaged(
  scope: Pick<ClusterScope, 'store' | 'cluster'>,
  kind: ResourceKind,
  ref: string,
): Promise<ManagedResource | undefined> {
  const all = await scope.store.resources.list({ kind, cluster: scope.cluster.name });
  const byId = all.find((r) => r.id === ref);
  if (byId) return byId;
  const cidr = kind === 'subnet' && ref.includes('/') ? canonicalCidr(ref) : undefined;
  const found = all.filter(
    (r) => r.name === ref || (cidr !== undefined && r.cidr !== undefined && canonicalCidr(r.cidr) === cidr),
  );
  if (found.length > 1)
    throw new InputError(
      'invalid-argument',
      `${kind} "${ref}" of cluster ${scope.cluster.name} is ambiguous: ${found.map((r) => r.id).join(', ')}; use its id`,
    );
  return found[0];
}

/** A managed resource whose Neutron object is gone: say so rather than "not found". */
function vanished(kind: ResourceKind, r: ManagedResource, cluster: string): (e: unknown) => never {
  return (e) => {
    if (e instanceof NeutronError && e.reason === 'not-found')
      throw new NeutronError(
        'not-found',
        `${kind} ${r.name || r.id} (${r.id}) of cluster ${cluster} no longer exists in Neutron; remove N-Net's record with 'kubenetctl delete ${kind} ${r.id}'`,
        { status: 404, cause: e },
      );
    throw e;
  };
}

function one<T extends { id: string }>(found: T[], what: string, hint: string): T | undefined {
  if (found.length > 1)
    throw new InputError(
      'invalid-argument',
      `${what} is ambiguous: ${found.map((f) => f.id).join(', ')}; ${hint}`,
    );
  return found[0];
}

/** A network by id or name: the cluster's first, then any visible in Neutron. */
export async function resolveNetwork(scope: ClusterScope, ref: string): Promise<Network> {
  const managed = await findManaged(scope, 'network', ref);
  if (managed)
    return scope.neutron.networks.get(managed.id).catch(vanished('network', managed, scope.cluster.name));
  if (isUuid(ref))
    return scope.neutron.networks.get(ref).catch((e: unknown) => {
      if (e instanceof NeutronError && e.reason === 'not-found')
        throw new InputError('invalid-argument', `network "${ref}" not found`, { cause: e });
      throw e;
    });
  const found = one(await scope.neutron.networks.list({ name: ref }), `network "${ref}"`, 'use its id');
  if (!found) throw new InputError('invalid-argument', `network "${ref}" not found`);
  return found;
}

/** A router by id or name: only the cluster's (N-Net changes no router it does not manage). */
export async function resolveManagedRouter(scope: ClusterScope, ref: string): Promise<Router> {
  const managed = await findManaged(scope, 'router', ref);
  if (!managed) throw notManaged('router', ref, scope.cluster.name);
  return scope.neutron.routers.get(managed.id).catch(vanished('router', managed, scope.cluster.name));
}

export function notManaged(kind: ResourceKind, ref: string, cluster: string): InputError {
  return new InputError(
    'invalid-argument',
    `${kind} "${ref}" not found among the ${kind}s N-Net manages for cluster ${cluster} (see 'kubenetctl get ${kind}s')`,
  );
}

/** The subnets in the cluster's scope: on its networks and default network, or managed by it. */
export async function clusterSubnets(scope: ClusterScope): Promise<Subnet[]> {
  const managed = await scope.store.resources.list({ cluster: scope.cluster.name });
  const networkIds = new Set(managed.filter((r) => r.kind === 'network').map((r) => r.id));
  if (scope.cluster.defaultNetworkId) networkIds.add(scope.cluster.defaultNetworkId);
  const subnetIds = managed.filter((r) => r.kind === 'subnet').map((r) => r.id);
  const [onNetworks, byId] = await Promise.all([
    networkIds.size > 0 ? scope.neutron.subnets.list({ networkId: [...networkIds] }) : [],
    subnetIds.length > 0 ? scope.neutron.subnets.list({ id: subnetIds }) : [],
  ]);
  const all = new Map<string, Subnet>();
  for (const s of [...onNetworks, ...byId]) all.set(s.id, s);
  return [...all.values()];
}

/**
 * A subnet by id, name or CIDR. With a network: that network's subnet (else an error saying
 * where the subnet is instead). Without: the cluster's scope first, then all of Neutron.
 */
export async function resolveSubnet(scope: ClusterScope, ref: string, network?: Network): Promise<Subnet> {
  const { neutron } = scope;
  const onNetwork = network ? ` on network ${network.name || network.id}` : '';
  if (isUuid(ref)) {
    const subnet = await neutron.subnets.get(ref).catch((e: unknown) => {
      if (e instanceof NeutronError && e.reason === 'not-found')
        throw new InputError('invalid-argument', `subnet "${ref}" not found`, { cause: e });
      throw e;
    });
    if (network && subnet.networkId !== network.id) throw notOnNetwork(subnet, network);
    return subnet;
  }
  if (network) {
    const found = one(
      (await neutron.subnets.list({ networkId: network.id })).filter((s) => subnetMatches(s, ref)),
      `subnet "${ref}"${onNetwork}`,
      'use its id',
    );
    if (found) return found;
    const elsewhere = await globalSubnets(neutron, ref);
    if (elsewhere.length > 0) throw notOnNetwork(elsewhere[0]!, network);
    throw new InputError('invalid-argument', `subnet "${ref}" not found${onNetwork}`);
  }
  const local = one(
    (await clusterSubnets(scope)).filter((s) => subnetMatches(s, ref)),
    `subnet "${ref}" of cluster ${scope.cluster.name}`,
    'give --network, or use its id',
  );
  if (local) return local;
  const found = one(
    await globalSubnets(neutron, ref),
    `subnet "${ref}"`,
    'it is on several networks: give --network, or use its id',
  );
  if (!found) throw new InputError('invalid-argument', `subnet "${ref}" not found`);
  return found;
}

async function globalSubnets(neutron: NeutronClient, ref: string): Promise<Subnet[]> {
  const cidr = ref.includes('/') ? canonicalCidr(ref) : undefined;
  const found = cidr ? await neutron.subnets.list({ cidr }) : await neutron.subnets.list({ name: ref });
  return found.filter((s) => subnetMatches(s, ref));
}

function notOnNetwork(subnet: Subnet, network: Network): InputError {
  return new InputError(
    'invalid-argument',
    `subnet ${subnetLabel(subnet)} is not on network ${network.name || network.id}: it belongs to network ${subnet.networkId}`,
  );
}

/** Why `ip` cannot be a pod's address in `subnet` (outside, network/broadcast, gateway), or undefined. */
export function ipProblem(ip: string, subnet: Subnet): string | undefined {
  const addr = parseIp(ip);
  if (!addr.ok) return `"${ip}" is ${addr.reason}`;
  const cidr = parseCidr(subnet.cidr);
  if (!cidr.ok) return undefined; // Neutron's CIDR; it checks the rest itself
  const reason = checkHostAddress(addr.value, cidr.value);
  if (reason) return `IP ${ip} ${reason.replace(cidr.value.cidr, `subnet ${subnetLabel(subnet)}`)}`;
  if (subnet.gatewayIp !== null) {
    const gateway = parseIp(subnet.gatewayIp);
    if (gateway.ok && gateway.value.text === addr.value.text)
      return `IP ${ip} is the gateway of subnet ${subnetLabel(subnet)}`;
  }
  return undefined;
}

/** The subnet of `subnets` that contains `ip`, if any. */
export function subnetContaining(subnets: readonly Subnet[], ip: string): Subnet | undefined {
  const addr = parseIp(ip);
  if (!addr.ok) return undefined;
  return subnets.find((s) => {
    const cidr = parseCidr(s.cidr);
    return cidr.ok && ipInCidr(addr.value, cidr.value);
  });
}
