/**
 * Subnets: the cluster's (or every one visible with --all); create on any network the user can
 * see (tagged, recorded), with an overlapping range explained by naming the subnet it overlaps;
 * delete refused while ports, pod configs or a cluster's default use it.
 */
import { InputError, NeutronError } from '../../errors/index.ts';
import type { Network, Subnet } from '../../neutron/index.ts';
import {
  type ClusterScope,
  cidrsOverlap,
  parseCidr,
  resolveNetwork,
  subnetLabel,
} from '../../resources/index.ts';
import type { ManagedResource } from '../../store/index.ts';
import type { CommandContext, CommandOf } from '../context.ts';
import type { ExitStatus } from '../kubectl.ts';
import { reservedPortIds } from '../podnet.ts';
import { describeSubnet, type SubnetView, subnetPrinter } from '../printers.ts';
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
} from './common.ts';
import { routerNames } from './networks.ts';

function viewOf(s: Subnet, networks: ReadonlyMap<string, Network>, cluster: string | undefined): SubnetView {
  const network = networks.get(s.networkId);
  return {
    name: s.name,
    id: s.id,
    network: network?.name || s.networkId,
    networkId: s.networkId,
    cidr: s.cidr,
    gateway: s.gatewayIp,
    allocationPools: s.allocationPools,
    dns: s.dnsNameservers,
    dhcp: s.enableDhcp,
    ...(cluster !== undefined ? { cluster } : {}),
    ...(s.description ? { description: s.description } : {}),
    ...(s.createdAt ? { createdAt: s.createdAt } : {}),
  };
}

function missingView(r: ManagedResource): SubnetView {
  return {
    name: r.name,
    id: r.id,
    network: r.networkId ?? '',
    networkId: r.networkId ?? '',
    cidr: r.cidr ?? '',
    gateway: null,
    allocationPools: [],
    dns: [],
    dhcp: false,
    status: 'Missing',
    cluster: r.cluster,
    createdAt: r.createdAt,
  };
}

async function listSubnets(
  scope: ClusterScope,
  names: readonly string[],
  all: boolean,
): Promise<Listing<SubnetView>> {
  const { store, neutron, cluster } = scope;
  const managed = await store.resources.list({ kind: 'subnet', ...(all ? {} : { cluster: cluster.name }) });
  const owner = new Map(managed.map((r) => [r.id, r.cluster]));
  const ids = managed.map((r) => r.id);
  const subnets = all
    ? await neutron.subnets.list()
    : ids.length > 0
      ? await neutron.subnets.list({ id: ids })
      : [];
  const networkIds = [...new Set(subnets.map((s) => s.networkId))];
  const networks =
    networkIds.length === 0
      ? []
      : all
        ? await neutron.networks.list()
        : await neutron.networks.list({ id: networkIds });
  const byId = new Map(networks.map((n) => [n.id, n]));
  const views = subnets.map((s) => viewOf(s, byId, owner.get(s.id)));
  const seen = new Set(subnets.map((s) => s.id));
  for (const r of managed) if (r.cluster === cluster.name && !seen.has(r.id)) views.push(missingView(r));
  views.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return pick(views, names, (v) => [v.name, v.id, v.cidr]);
}

export async function getSubnets(command: CommandOf<'get'>, ctx: CommandContext): Promise<ExitStatus> {
  const scope = await clusterScope(ctx, command.scope);
  const listing = await listSubnets(scope, command.names, command.all === true);
  return printListing(ctx, subnetPrinter, listing, { format: command.output, names: command.names });
}

export async function describeSubnets(
  command: CommandOf<'describe'>,
  ctx: CommandContext,
): Promise<ExitStatus> {
  const scope = await clusterScope(ctx, command.scope);
  const listing = await listSubnets(scope, command.names, false);
  for (const view of listing.items) {
    if (view.status === 'Missing') continue;
    const ports = await scope.neutron.ports.list({ fixedIps: [{ subnetId: view.id }] });
    const names = await routerNames(scope, ports);
    view.usedBy = ports.filter((p) => !isServicePort(p)).map((p) => portUser(p, names));
  }
  return printDescriptions(ctx, 'subnet', listing, describeSubnet);
}

function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x.ok && y.ok && cidrsOverlap(x.value, y.value);
}

export async function createSubnet(
  command: CommandOf<'create-subnet'>,
  ctx: CommandContext,
): Promise<ExitStatus> {
  const scope = await clusterScope(ctx, command.scope);
  const { neutron, store, cluster } = scope;
  const network = await resolveNetwork(scope, command.network);
  const taken = await neutron.subnets.list({ name: command.name });
  if (taken.length > 0)
    throw alreadyExists(
      'subnet',
      command.name,
      taken.map((s) => s.id),
    );
  const subnet = await neutron.subnets
    .create({
      networkId: network.id,
      name: command.name,
      cidr: command.cidr,
      ipVersion: command.ipVersion,
      ...(command.gateway !== undefined ? { gatewayIp: command.gateway } : {}),
      ...(command.allocationPools.length > 0 ? { allocationPools: command.allocationPools } : {}),
      ...(command.dns.length > 0 ? { dnsNameservers: command.dns } : {}),
      enableDhcp: command.dhcp,
      ...(command.ipv6AddressMode !== undefined
        ? { ipv6AddressMode: command.ipv6AddressMode, ipv6RaMode: command.ipv6AddressMode }
        : {}),
      ...(command.description !== undefined ? { description: command.description } : {}),
      tags: clusterTags(cluster.name),
    })
    .catch(async (e: unknown) => {
      if (e instanceof NeutronError && e.reason === 'bad-request' && /overlap/i.test(e.message)) {
        const others = (await neutron.subnets.list({ networkId: network.id }).catch(() => [])).filter((s) =>
          overlaps(s.cidr, command.cidr),
        );
        throw new InputError(
          'invalid-argument',
          `subnet ${command.cidr} overlaps ${others.length > 0 ? others.map((s) => `subnet ${subnetLabel(s)}`).join(', ') : 'another subnet'} on network ${network.name || network.id}`,
          { cause: e },
        );
      }
      throw e;
    });
  try {
    await store.resources.put({
      kind: 'subnet',
      id: subnet.id,
      name: subnet.name,
      cluster: cluster.name,
      cidr: subnet.cidr,
      networkId: network.id,
    });
  } catch (e) {
    await neutron.subnets.ensureDeleted(subnet.id).catch(() => undefined);
    throw e;
  }
  return printCreated(
    ctx,
    subnetPrinter,
    viewOf(subnet, new Map([[network.id, network]]), cluster.name),
    command.output,
  );
}

export function deleteSubnets(command: CommandOf<'delete'>, ctx: CommandContext): Promise<ExitStatus> {
  return deleteManaged(ctx, command, 'subnet', {
    checkUnused: checkSubnetUnused,
    remove: (scope, id) => scope.neutron.subnets.ensureDeleted(id),
  });
}

async function checkSubnetUnused(scope: ClusterScope, subnet: ManagedResource): Promise<void> {
  const users: string[] = [];
  for (const c of await scope.store.clusters.list())
    if (c.defaultSubnetId === subnet.id) users.push(`cluster ${c.name} (its default subnet)`);
  const configs = await scope.store.podConfigs.list({ cluster: scope.cluster.name });
  for (const p of configs)
    if (p.nics.some((n) => n.fixedIps.some((f) => f.subnetId === subnet.id)))
      users.push(`podnetwork ${p.namespace}/${p.pod}`);
  const ports = await scope.neutron.ports.list({ fixedIps: [{ subnetId: subnet.id }] });
  const names = await routerNames(scope, ports);
  const reserved = new Set(configs.flatMap(reservedPortIds));
  for (const p of ports) if (!isServicePort(p) && !reserved.has(p.id)) users.push(portUser(p, names));
  if (users.length > 0)
    throw inUse(
      `subnet ${subnet.name || subnet.id}${subnet.cidr ? ` (${subnet.cidr})` : ''}`,
      users,
      'release the podnetworks (kubenetctl delete podnetwork), disconnect routers (kubenetctl disconnect router R --subnet S), and delete the other ports first',
    );
}
