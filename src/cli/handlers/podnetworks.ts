/**
 * Podnetworks: a pod's network config as kubenetctl recorded it (the wanted subnets, IPs, MAC),
 * joined with what exists: the reserved Neutron port (its IPs, binding:host_id, status) and the
 * attachment the CNI plugin recorded at ADD. Create is the network-only form of the pod flow
 * (for runtimes without an API server); delete releases the reservation.
 */
import type { Network, Port, Subnet } from '../../neutron/index.ts';
import { type ClusterScope, SUBPORT_OWNER } from '../../resources/index.ts';
import type { PodNetworkConfig, PodNicConfig } from '../../store/index.ts';
import type { CommandContext, CommandOf } from '../context.ts';
import { toCliFailure } from '../exit.ts';
import type { ExitStatus } from '../kubectl.ts';
import { belongsToAnotherProject, byOwner, userProject } from '../ownership.ts';
import { releasePodNetwork, reservePodNetwork, setPodSecurityGroups } from '../podnet.ts';
import { describePodNetwork, type PodNetworkView, podNetworkPrinter } from '../printers.ts';
import type { Scope } from '../types.ts';
import {
  clusterScope,
  type Listing,
  namespaceOf,
  pick,
  printCreated,
  printDescriptions,
  printListing,
} from './common.ts';

/**
 * Status of a pod's network: Reserved (port unbound), Neutron's port status once bound (or, in
 * nested mode, once a subport of its VM's trunk: Neutron shows a subport with no host), or what is
 * missing.
 */
function statusOf(nic: PodNicConfig, port: Port | undefined): string {
  if (!nic.reservedPortId) return 'NotReserved';
  if (!port) return 'PortMissing';
  if (!port.hostId && port.deviceOwner !== SUBPORT_OWNER) return 'Reserved';
  return port.status || 'Bound';
}

/** The NIC a podnetwork row shows: the pod's first (eth0). */
const primaryNic = (c: PodNetworkConfig): PodNicConfig => c.nics[0]!;

/** IPv4 first, as the NIC's fixed IPs are ordered. */
const byFamily = (ips: string[]) => ips.sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));

export async function podNetworkViews(
  scope: ClusterScope,
  configs: readonly PodNetworkConfig[],
): Promise<PodNetworkView[]> {
  if (configs.length === 0) return [];
  const { neutron, store } = scope;
  const nics = configs.map(primaryNic);
  const portIds = configs.flatMap((c) => c.nics.flatMap((n) => (n.reservedPortId ? [n.reservedPortId] : [])));
  const [ports, attachments] = await Promise.all([
    portIds.length > 0 ? neutron.ports.list({ id: portIds }) : ([] as Port[]),
    store.attachments.list({ cluster: scope.cluster.name }),
  ]);
  const portById = new Map(ports.map((p) => [p.id, p]));
  const portOf = (n: PodNicConfig) => (n.reservedPortId ? portById.get(n.reservedPortId) : undefined);
  // The subnets asked for; a config that names none shows its port's.
  const subnetIdsOf = (n: PodNicConfig) => [
    ...new Set(
      n.fixedIps.length > 0
        ? n.fixedIps.map((f) => f.subnetId)
        : (portOf(n)?.fixedIps ?? []).map((f) => f.subnetId),
    ),
  ];
  const subnetIds = [...new Set(nics.flatMap(subnetIdsOf))];
  const networkIds = [...new Set(configs.flatMap((c) => c.nics.map((n) => n.networkId)))];
  const [subnets, networks] = await Promise.all([
    subnetIds.length > 0 ? neutron.subnets.list({ id: subnetIds }) : ([] as Subnet[]),
    networkIds.length > 0 ? neutron.networks.list({ id: networkIds }) : ([] as Network[]),
  ]);
  const subnetById = new Map(subnets.map((s) => [s.id, s]));
  const networkById = new Map(networks.map((n) => [n.id, n]));
  const groupIds = [
    ...new Set([...nics.flatMap((n) => n.securityGroupIds ?? []), ...ports.flatMap((p) => p.securityGroups)]),
  ];
  const groups = groupIds.length > 0 ? await neutron.securityGroups.list({ id: groupIds }) : [];
  const groupRef = (id: string) => ({ id, name: groups.find((g) => g.id === id)?.name ?? '' });

  return configs.map((c, i) => {
    const nic = nics[i]!;
    const port = portOf(nic);
    const attachment = attachments.find(
      (a) => a.namespace === c.namespace && a.pod === c.pod && (!port || a.portId === port.id),
    );
    const node = port?.hostId || attachment?.node;
    const container = attachment?.containerId ?? (port?.hostId ? port.deviceId || undefined : undefined);
    return {
      namespace: c.namespace,
      pod: c.pod,
      cluster: c.cluster,
      ...(c.projectId !== undefined ? { projectId: c.projectId } : {}),
      network: { id: nic.networkId, name: networkById.get(nic.networkId)?.name ?? '' },
      subnets: subnetIdsOf(nic).map((id) => {
        const s = subnetById.get(id);
        return { id, name: s?.name ?? '', cidr: s?.cidr ?? id };
      }),
      wantedIps: nic.fixedIps.flatMap((f) => (f.ip !== undefined ? [f.ip] : [])),
      ...(nic.mac !== undefined ? { wantedMac: nic.mac } : {}),
      ...(nic.reservedPortId ? { portId: nic.reservedPortId } : {}),
      ips: port ? byFamily(port.fixedIps.map((f) => f.ipAddress)) : [],
      ...(port ? { mac: port.macAddress } : {}),
      ...(node ? { node } : {}),
      ...(container ? { container } : {}),
      status: statusOf(nic, port),
      extraNics: c.nics.slice(1).map((n) => ({
        ifname: n.ifname,
        network: networkById.get(n.networkId)?.name || n.networkId,
        ips: byFamily((portOf(n)?.fixedIps ?? []).map((f) => f.ipAddress)),
      })),
      wantedSecurityGroups: (nic.securityGroupIds ?? []).map(groupRef),
      securityGroups: (port?.securityGroups ?? []).map(groupRef),
      createdAt: c.createdAt,
    };
  });
}

/**
 * The podnetworks of the user's project, as kubectl lists what RBAC lets one see: others' are
 * left out of a listing without a word; one asked for by name is an error naming it (exit 1).
 */
async function listPodNetworks(
  ctx: CommandContext,
  scopeFlags: Scope,
  names: readonly string[],
): Promise<{ listing: Listing<PodNetworkView>; namespace: string | undefined; refused: Error[] }> {
  const scope = await clusterScope(ctx, scopeFlags);
  const namespace = scopeFlags.allNamespaces ? undefined : await namespaceOf(ctx, scopeFlags);
  const project = await userProject(scope);
  const configs = (await scope.store.podConfigs.list({ cluster: scope.cluster.name })).filter(
    (c) => namespace === undefined || c.namespace === namespace,
  );
  const { mine, others } = await byOwner(scope, project, configs);
  const chosen = pick(mine, names, (c) => [c.pod]);
  const refused = chosen.missing.flatMap((name) =>
    others.filter((c) => c.pod === name).map((c) => belongsToAnotherProject(c, project)),
  );
  const missing = chosen.missing.filter((name) => !others.some((c) => c.pod === name));
  const items = await podNetworkViews(scope, chosen.items);
  return { listing: { items, missing }, namespace, refused };
}

/** Prints what was found (unless only refusals are left), then one error per refused name. */
function withRefusals(
  ctx: CommandContext,
  listing: Listing<PodNetworkView>,
  refused: readonly Error[],
  print: () => ExitStatus,
): ExitStatus {
  const onlyRefused = refused.length > 0 && listing.items.length === 0 && listing.missing.length === 0;
  const status = onlyRefused ? { code: 1 } : print();
  for (const e of refused) ctx.io.stderr(`error: ${e.message}\n`);
  return refused.length > 0 ? { code: 1 } : status;
}

export async function getPodNetworks(command: CommandOf<'get'>, ctx: CommandContext): Promise<ExitStatus> {
  const { listing, namespace, refused } = await listPodNetworks(ctx, command.scope, command.names);
  return withRefusals(ctx, listing, refused, () =>
    printListing(ctx, podNetworkPrinter, listing, {
      format: command.output,
      names: command.names,
      ...(namespace !== undefined ? { namespace } : {}),
    }),
  );
}

export async function describePodNetworks(
  command: CommandOf<'describe'>,
  ctx: CommandContext,
): Promise<ExitStatus> {
  const { listing, namespace, refused } = await listPodNetworks(ctx, command.scope, command.names);
  return withRefusals(ctx, listing, refused, () =>
    printDescriptions(ctx, 'podnetwork', listing, describePodNetwork, namespace),
  );
}

export async function createPodNetwork(
  command: CommandOf<'create-podnetwork'>,
  ctx: CommandContext,
): Promise<ExitStatus> {
  const scope = await clusterScope(ctx, command.scope);
  const namespace = command.namespace ?? (await ctx.defaultNamespace(command.scope));
  const reservation = await reservePodNetwork(scope, {
    namespace,
    pod: command.pod,
    ...(command.network !== undefined ? { network: command.network } : {}),
    ...(command.subnet !== undefined ? { subnet: command.subnet } : {}),
    ips: command.ips,
    ...(command.mac !== undefined ? { mac: command.mac } : {}),
    ...(command.securityGroups !== undefined ? { securityGroups: command.securityGroups } : {}),
    ...(command.extraNics !== undefined ? { extraNics: command.extraNics } : {}),
  });
  const action = reservation.port ? 'created' : 'unchanged';
  if (command.output === undefined || command.output === 'name') {
    // No need to ask Neutron for the joined view just to print the name.
    const line = `podnetwork/${command.pod}${command.output === 'name' ? '' : ` ${action}`}\n`;
    ctx.io.stdout(line);
    return { code: 0 };
  }
  const [view] = await podNetworkViews(scope, [reservation.config]);
  return printCreated(ctx, podNetworkPrinter, view!, command.output, action);
}

export async function setPodNetwork(
  command: CommandOf<'set-podnetwork'>,
  ctx: CommandContext,
): Promise<ExitStatus> {
  const scope = await clusterScope(ctx, command.scope);
  const namespace = command.namespace ?? (await ctx.defaultNamespace(command.scope));
  const config = await setPodSecurityGroups(
    scope,
    { cluster: scope.cluster.name, namespace, pod: command.pod },
    command.securityGroups,
  );
  if (command.output === undefined || command.output === 'name') {
    ctx.io.stdout(`podnetwork/${command.pod}${command.output === 'name' ? '' : ' configured'}\n`);
    return { code: 0 };
  }
  const [view] = await podNetworkViews(scope, [config]);
  return printCreated(ctx, podNetworkPrinter, view!, command.output, 'configured');
}

export async function deletePodNetworks(
  command: CommandOf<'delete'>,
  ctx: CommandContext,
): Promise<ExitStatus> {
  const scope = await clusterScope(ctx, command.scope);
  const namespace = await namespaceOf(ctx, command.scope);
  let code = 0;
  // Like kubectl, a name that cannot be deleted is reported and the others are still deleted.
  for (const pod of command.names) {
    const key = { cluster: scope.cluster.name, namespace, pod };
    try {
      if (await releasePodNetwork(scope, key, { force: command.force === true }))
        ctx.io.stdout(`podnetwork "${pod}" deleted\n`);
      else {
        ctx.io.stderr(`error: podnetwork "${pod}" not found in namespace ${namespace}\n`);
        code = 1;
      }
    } catch (e) {
      if (command.names.length === 1) throw e;
      ctx.io.stderr(toCliFailure(e, ctx.io.env).message);
      code = 1;
    }
  }
  return { code };
}
