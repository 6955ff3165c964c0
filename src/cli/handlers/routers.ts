/**
 * Routers: create, connect/disconnect subnets (the paper's "1.2.0.0/16 and 192.168.10.0/24 are
 * connected"), get with the subnets each connects, delete (refused while it connects any).
 */
import { InputError, NeutronError } from '../../errors/index.ts';
import type { Port, Router, Subnet } from '../../neutron/index.ts';
import {
  type ClusterScope,
  compareCidrs,
  resolveManagedRouter,
  resolveNetwork,
  resolveSubnet,
  subnetLabel,
} from '../../resources/index.ts';
import type { CommandContext, CommandOf } from '../context.ts';
import type { ExitStatus } from '../kubectl.ts';
import { describeRouter, type RouterView, routerPrinter, type SubnetRef } from '../printers.ts';
import {
  alreadyExists,
  clusterScope,
  clusterTags,
  deleteManaged,
  type Listing,
  pick,
  printCreated,
  printDescriptions,
  printListing,
  ROUTER_INTERFACE_OWNERS,
} from './common.ts';

/** The interface ports of these routers. */
function interfacePorts(scope: ClusterScope, routerIds: readonly string[]): Promise<Port[]> {
  if (routerIds.length === 0) return Promise.resolve([]);
  return scope.neutron.ports.list({ deviceId: [...routerIds], deviceOwner: ROUTER_INTERFACE_OWNERS });
}

/** Router id → the subnets its interfaces are on. */
async function connectedSubnets(
  scope: ClusterScope,
  routerIds: readonly string[],
): Promise<Map<string, SubnetRef[]>> {
  const ports = await interfacePorts(scope, routerIds);
  const subnetIds = [...new Set(ports.flatMap((p) => p.fixedIps.map((f) => f.subnetId)))];
  const subnets = subnetIds.length > 0 ? await scope.neutron.subnets.list({ id: subnetIds }) : [];
  const byId = new Map(subnets.map((s) => [s.id, s]));
  const out = new Map<string, SubnetRef[]>();
  for (const p of ports) {
    const refs = out.get(p.deviceId) ?? [];
    for (const f of p.fixedIps) {
      const s = byId.get(f.subnetId);
      if (!refs.some((r) => r.id === f.subnetId))
        refs.push({ id: f.subnetId, name: s?.name ?? '', cidr: s?.cidr ?? f.subnetId });
    }
    out.set(p.deviceId, refs);
  }
  for (const refs of out.values()) refs.sort((a, b) => compareCidrs(a.cidr, b.cidr));
  return out;
}

function viewOf(r: Router, subnets: SubnetRef[], cluster: string | undefined): RouterView {
  return {
    name: r.name,
    id: r.id,
    status: r.status,
    subnets,
    ...(r.externalGateway ? { externalNetwork: r.externalGateway.networkId } : {}),
    ...(cluster !== undefined ? { cluster } : {}),
    ...(r.description ? { description: r.description } : {}),
    ...(r.createdAt ? { createdAt: r.createdAt } : {}),
  };
}

async function listRouters(
  scope: ClusterScope,
  names: readonly string[],
  all: boolean,
): Promise<Listing<RouterView>> {
  const { store, neutron, cluster } = scope;
  const managed = await store.resources.list({ kind: 'router', ...(all ? {} : { cluster: cluster.name }) });
  const owner = new Map(managed.map((r) => [r.id, r.cluster]));
  const ids = managed.map((r) => r.id);
  const routers = all
    ? await neutron.routers.list()
    : ids.length > 0
      ? await neutron.routers.list({ id: ids })
      : [];
  const subnets = await connectedSubnets(
    scope,
    routers.map((r) => r.id),
  );
  const views = routers.map((r) => viewOf(r, subnets.get(r.id) ?? [], owner.get(r.id)));
  const seen = new Set(routers.map((r) => r.id));
  for (const r of managed)
    if (r.cluster === cluster.name && !seen.has(r.id))
      views.push({
        name: r.name,
        id: r.id,
        status: 'Missing',
        subnets: [],
        cluster: r.cluster,
        createdAt: r.createdAt,
      });
  views.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return pick(views, names, (v) => [v.name, v.id]);
}

export async function getRouters(command: CommandOf<'get'>, ctx: CommandContext): Promise<ExitStatus> {
  const scope = await clusterScope(ctx, command.scope);
  const listing = await listRouters(scope, command.names, command.all === true);
  return printListing(ctx, routerPrinter, listing, { format: command.output, names: command.names });
}

export async function describeRouters(
  command: CommandOf<'describe'>,
  ctx: CommandContext,
): Promise<ExitStatus> {
  const scope = await clusterScope(ctx, command.scope);
  return printDescriptions(ctx, 'router', await listRouters(scope, command.names, false), describeRouter);
}

export async function createRouter(
  command: CommandOf<'create-router'>,
  ctx: CommandContext,
): Promise<ExitStatus> {
  const scope = await clusterScope(ctx, command.scope);
  const { neutron, store, cluster } = scope;
  const external =
    command.externalNetwork !== undefined ? await resolveNetwork(scope, command.externalNetwork) : undefined;
  const taken = await neutron.routers.list({ name: command.name });
  if (taken.length > 0)
    throw alreadyExists(
      'router',
      command.name,
      taken.map((r) => r.id),
    );
  const router = await neutron.routers.create({
    name: command.name,
    ...(external ? { externalGateway: { networkId: external.id } } : {}),
    ...(command.description !== undefined ? { description: command.description } : {}),
    tags: clusterTags(cluster.name),
  });
  try {
    await store.resources.put({ kind: 'router', id: router.id, name: router.name, cluster: cluster.name });
  } catch (e) {
    await neutron.routers.ensureDeleted(router.id).catch(() => undefined);
    throw e;
  }
  return printCreated(ctx, routerPrinter, viewOf(router, [], cluster.name), command.output);
}

export async function connectRouter(
  command: CommandOf<'connect-router'>,
  ctx: CommandContext,
): Promise<ExitStatus> {
  const scope = await clusterScope(ctx, command.scope);
  const router = await resolveManagedRouter(scope, command.router);
  const subnet = await resolveSubnet(scope, command.subnet);
  const connected = (await connectedSubnets(scope, [router.id])).get(router.id) ?? [];
  if (connected.some((s) => s.id === subnet.id)) {
    ctx.io.stdout(`router/${router.name} already connects subnet ${subnetLabel(subnet)}\n`);
    return { code: 0 };
  }
  await scope.neutron.routers.addInterface(router.id, { subnetId: subnet.id }).catch((e: unknown) => {
    throw explainInterfaceError(e, router, subnet, 'connect');
  });
  ctx.io.stdout(`router/${router.name} connected to subnet ${subnetLabel(subnet)}\n`);
  return { code: 0 };
}

export async function disconnectRouter(
  command: CommandOf<'disconnect-router'>,
  ctx: CommandContext,
): Promise<ExitStatus> {
  const scope = await clusterScope(ctx, command.scope);
  const router = await resolveManagedRouter(scope, command.router);
  const subnet = await resolveSubnet(scope, command.subnet);
  const connected = (await connectedSubnets(scope, [router.id])).get(router.id) ?? [];
  if (!connected.some((s) => s.id === subnet.id))
    throw new InputError(
      'invalid-argument',
      `router ${router.name} does not connect subnet ${subnetLabel(subnet)} (it connects ${connected.length > 0 ? connected.map((s) => s.cidr).join(', ') : 'no subnet'})`,
    );
  await scope.neutron.routers.removeInterface(router.id, { subnetId: subnet.id }).catch((e: unknown) => {
    throw explainInterfaceError(e, router, subnet, 'disconnect');
  });
  ctx.io.stdout(`router/${router.name} disconnected from subnet ${subnetLabel(subnet)}\n`);
  return { code: 0 };
}

function explainInterfaceError(e: unknown, router: Router, subnet: Subnet, op: string): unknown {
  if (!(e instanceof NeutronError) || e.reason !== 'bad-request') return e;
  const why = /failed: (.*) \(HTTP/.exec(e.message)?.[1] ?? e.message;
  return new NeutronError(
    'bad-request',
    `cannot ${op} router ${router.name} and subnet ${subnetLabel(subnet)}: ${why}`,
    { cause: e, status: e.status },
  );
}

export function deleteRouters(command: CommandOf<'delete'>, ctx: CommandContext): Promise<ExitStatus> {
  return deleteManaged(ctx, command, 'router', {
    checkUnused: async (scope, router) => {
      const connected = (await connectedSubnets(scope, [router.id])).get(router.id) ?? [];
      if (connected.length > 0)
        throw new InputError(
          'invalid-argument',
          `router ${router.name} still connects subnet${connected.length > 1 ? 's' : ''} ${connected.map((s) => subnetLabel(s)).join(', ')}: disconnect ${connected.length > 1 ? 'them' : 'it'} first (kubenetctl disconnect router ${router.name} --subnet ${connected[0]!.name || connected[0]!.cidr})`,
        );
    },
    remove: (scope, id) => scope.neutron.routers.ensureDeleted(id),
  });
}
