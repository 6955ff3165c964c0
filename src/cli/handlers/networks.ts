import type { Network, Port, Subnet } from '../../neutron/index.ts';
import { type ClusterScope, compareCidrs } from '../../resources/index.ts';
import type { ManagedResource } from '../../store/index.ts';
import type { CommandContext, CommandOf } from '../context.ts';
import type { ExitStatus } from '../kubectl.ts';
import { reservedPortIds } from '../podnet.ts';
import { describeNetwork, type NetworkView, networkPrinter } from '../printers.ts';
import {
  alreadyExists,
  clusterScope,
  clusterTags,
  deleteManaged,
  inUse,
  isServicePort,
  type Listing,
  pick,
  portUser,
  printCreated,
  printDescriptions,
  printListing,
  ROUTER_INTERFACE_OWNERS,
} from './common.ts';

function viewOf(network: Network, subnets: readonly Subnet[], cluster: string | undefined): NetworkView {
  return {
    name: network.name,
    id: network.id,
    status: network.status,
    ...(network.mtu !== undefined ? { mtu: network.mtu } : {}),
    subnets: subnets
      .filter((s) => s.networkId === network.id)
      .map((s) => ({ id: s.id, name: s.name, cidr: s.cidr }))
      .sort((x, y) => compareCidrs(x.cidr, y.cidr)),
    ...(cluster !== undefined ? { cluster } : {}),
    shared: network.shared,
    external: network.external,
    ...(network.description ? { description: network.description } : {}),
    ...(network.createdAt ? { createdAt: network.createdAt } : {}),
  };
}

/** A record whose network Neutron no longer has. */
function missingView(r: ManagedResource): NetworkView {
  return {
    name: r.name,
    id: r.id,
    status: 'Missing',
    subnets: [],
    cluster: r.cluster,
    createdAt: r.createdAt,
  };
}

async function listNetworks(
  scope: ClusterScope,
  names: readonly string[],
  all: boolean,
): Promise<Listing<NetworkView>> {
  const { store, neutron, cluster } = scope;
  const managed = await store.resources.list({ kind: 'network', ...(all ? {} : { cluster: cluster.name }) });
  const owner = new Map(managed.map((r) => [r.id, r.cluster]));
  let networks: Network[];
  let subnets: Subnet[];
  if (all) {
    [networks, subnets] = await Promise.all([neutron.networks.list(), neutron.subnets.list()]);
  } else {
    const ids = managed.map((r) => r.id);
    [networks, subnets] =
      ids.length === 0
        ? [[], []]
        : await Promise.all([neutron.networks.list({ id: ids }), neutron.subnets.list({ networkId: ids })]);
  }
  const views = networks.map((n) => viewOf(n, subnets, owner.get(n.id)));
  const seen = new Set(networks.map((n) => n.id));
  for (const r of managed) if (r.cluster === cluster.name && !seen.has(r.id)) views.push(missingView(r));
  views.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return pick(views, names, (v) => [v.name, v.id]);
}

export async function getNetworks(command: CommandOf<'get'>, ctx: CommandContext): Promise<ExitStatus> {
  const scope = await clusterScope(ctx, command.scope);
  const listing = await listNetworks(scope, command.names, command.all === true);
  return printListing(ctx, networkPrinter, listing, { format: command.output, names: command.names });
}

export async function describeNetworks(
  command: CommandOf<'describe'>,
  ctx: CommandContext,
): Promise<ExitStatus> {
  const scope = await clusterScope(ctx, command.scope);
  const listing = await listNetworks(scope, command.names, false);
  const ids = listing.items.filter((v) => v.status !== 'Missing').map((v) => v.id);
  const ports = ids.length > 0 ? await scope.neutron.ports.list({ networkId: ids }) : [];
  const names = await routerNames(scope, ports);
  for (const view of listing.items)
    view.usedBy = ports
      .filter((p) => p.networkId === view.id && !isServicePort(p))
      .map((p) => portUser(p, names));
  return printDescriptions(ctx, 'network', listing, describeNetwork);
}

/** Names of the routers these ports belong to (for "used by router r1"). */
export async function routerNames(scope: ClusterScope, ports: readonly Port[]): Promise<Map<string, string>> {
  const ids = [
    ...new Set(ports.filter((p) => ROUTER_INTERFACE_OWNERS.includes(p.deviceOwner)).map((p) => p.deviceId)),
  ];
  if (ids.length === 0) return new Map();
  const routers = await scope.neutron.routers.list({ id: ids });
  return new Map(routers.map((r) => [r.id, r.name]));
}

export async function createNetwork(
  command: CommandOf<'create-network'>,
  ctx: CommandContext,
): Promise<ExitStatus> {
  const scope = await clusterScope(ctx, command.scope);
  const { neutron, store, cluster } = scope;
  const taken = await neutron.networks.list({ name: command.name });
  if (taken.length > 0)
    throw alreadyExists(
      'network',
      command.name,
      taken.map((n) => n.id),
    );
  const network = await neutron.networks.create({
    name: command.name,
    ...(command.mtu !== undefined ? { mtu: command.mtu } : {}),
    ...(command.description !== undefined ? { description: command.description } : {}),
    tags: clusterTags(cluster.name),
  });
  try {
    await store.resources.put({ kind: 'network', id: network.id, name: network.name, cluster: cluster.name });
  } catch (e) {
    await neutron.networks.ensureDeleted(network.id).catch(() => undefined);
    throw e;
  }
  return printCreated(ctx, networkPrinter, viewOf(network, [], cluster.name), command.output);
}

export function deleteNetworks(command: CommandOf<'delete'>, ctx: CommandContext): Promise<ExitStatus> {
  return deleteManaged(ctx, command, 'network', {
    checkUnused: checkNetworkUnused,
    remove: (scope, id) => scope.neutron.networks.ensureDeleted(id),
    // Neutron deleted the network's subnets with it.
    forgetAlso: async (scope, network) => {
      for (const s of await scope.store.resources.list({ kind: 'subnet', cluster: scope.cluster.name }))
        if (s.networkId === network.id) await scope.store.resources.delete({ kind: 'subnet', id: s.id });
    },
  });
}

async function checkNetworkUnused(scope: ClusterScope, network: ManagedResource): Promise<void> {
  const what = `network ${network.name || network.id}`;
  const users: string[] = [];
  for (const c of await scope.store.clusters.list())
    if (c.defaultNetworkId === network.id) users.push(`cluster ${c.name} (its default network)`);
  const configs = await scope.store.podConfigs.list({ cluster: scope.cluster.name });
  for (const p of configs)
    if (p.nics.some((n) => n.networkId === network.id)) users.push(`podnetwork ${p.namespace}/${p.pod}`);
  const ports = await scope.neutron.ports.list({ networkId: network.id });
  const names = await routerNames(scope, ports);
  // A reserved port is named above by its podnetwork.
  const reserved = new Set(configs.flatMap(reservedPortIds));
  for (const p of ports) if (!isServicePort(p) && !reserved.has(p.id)) users.push(portUser(p, names));
  if (users.length > 0)
    throw inUse(
      what,
      users,
      'release the podnetworks (kubenetctl delete podnetwork), disconnect routers, and delete the other ports first',
    );
}
