/** What the resource handlers share: the cluster scope, printing, "in use" checks, tags. */
import { InputError, NeutronError, StoreError } from '../../errors/index.ts';
import type { Port } from '../../neutron/index.ts';
import {
  type ClusterScope,
  clusterTag,
  describePort,
  findManaged,
  notManaged,
  podOfPort,
} from '../../resources/index.ts';
import type { ManagedResource, ResourceKind } from '../../store/index.ts';
import type { CommandContext } from '../context.ts';
import {
  type DescribeEntry,
  formatActionResult,
  formatDescribe,
  noResourcesMessage,
  printResources,
  type ResourcePrinter,
} from '../format.ts';
import type { ExitStatus } from '../kubectl.ts';
import type { Noun, OutputFormat, Scope } from '../types.ts';

export async function clusterScope(ctx: CommandContext, scope: Scope): Promise<ClusterScope> {
  const session = ctx.session(scope);
  const cluster = await session.cluster();
  const [store, neutron] = await Promise.all([session.store(), session.neutron()]);
  return { store, cluster, neutron };
}

/** Tags on every Neutron resource N-Net creates for a cluster. */
export function clusterTags(cluster: string): string[] {
  return ['nnet', clusterTag(cluster)];
}

/** The object after a create: `network/pods created`, or the object in the asked format. */
export function printCreated<T>(
  ctx: CommandContext,
  printer: ResourcePrinter<T>,
  item: T,
  output: OutputFormat | undefined,
  action = 'created',
): ExitStatus {
  if (output === undefined || output === 'table' || output === 'wide')
    ctx.io.stdout(formatActionResult(printer.noun, printer.name(item), action));
  else ctx.io.stdout(printResources(printer, [item], { format: output, now: ctx.now(), single: true }));
  return { code: 0 };
}

export function printDeleted(ctx: CommandContext, noun: Noun, name: string): void {
  ctx.io.stdout(`${noun} "${name}" deleted\n`);
}

export interface Listing<T> {
  items: T[];
  /** Names asked for and not found. */
  missing: string[];
}

/** `get`: the items in the format; missing names as errors on stderr (exit 1), like kubectl. */
export function printListing<T>(
  ctx: CommandContext,
  printer: ResourcePrinter<T>,
  listing: Listing<T>,
  options: { format: OutputFormat; names: readonly string[]; namespace?: string },
): ExitStatus {
  const single = options.names.length === 1 && listing.items.length === 1;
  const text = printResources(printer, listing.items, { format: options.format, now: ctx.now(), single });
  if (text) ctx.io.stdout(text);
  for (const name of listing.missing) ctx.io.stderr(notFoundMessage(printer.noun, name, options.namespace));
  if (listing.items.length === 0 && listing.missing.length === 0 && !text)
    ctx.io.stderr(noResourcesMessage(options.namespace));
  return { code: listing.missing.length > 0 ? 1 : 0 };
}

export function printDescriptions<T>(
  ctx: CommandContext,
  noun: Noun,
  listing: Listing<T>,
  describe: (item: T) => DescribeEntry[],
  namespace?: string,
): ExitStatus {
  ctx.io.stdout(listing.items.map((item) => formatDescribe(describe(item))).join('\n\n'));
  for (const name of listing.missing) ctx.io.stderr(notFoundMessage(noun, name, namespace));
  if (listing.items.length === 0 && listing.missing.length === 0)
    ctx.io.stderr(noResourcesMessage(namespace));
  return { code: listing.missing.length > 0 ? 1 : 0 };
}

function notFoundMessage(noun: Noun, name: string, namespace?: string): string {
  return `error: ${noun} "${name}" not found${namespace !== undefined ? ` in namespace ${namespace}` : ''}\n`;
}

/** Picks items by name (or id), keeping the order asked for; reports the names not found. */
export function pick<T>(
  all: readonly T[],
  names: readonly string[],
  keys: (item: T) => readonly (string | undefined)[],
): Listing<T> {
  if (names.length === 0) return { items: [...all], missing: [] };
  const items: T[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const found = all.filter((item) => keys(item).includes(name));
    if (found.length === 0) missing.push(name);
    for (const item of found) if (!items.includes(item)) items.push(item);
  }
  return { items, missing };
}

/** Ports Neutron makes and removes by itself (DHCP, the OVN metadata port): they block nothing. */
export function isServicePort(port: Port): boolean {
  return port.deviceOwner.startsWith('network:dhcp') || port.deviceOwner === 'network:distributed';
}

const ROUTER_OWNERS = new Set([
  'network:router_interface',
  'network:router_interface_distributed',
  'network:ha_router_replicated_interface',
]);
export const ROUTER_INTERFACE_OWNERS: readonly string[] = [...ROUTER_OWNERS];

/** "pod team-a/pod1 (port …)", "router r1 (port …)", or the port itself. */
export function portUser(port: Port, routerNames: ReadonlyMap<string, string> = new Map()): string {
  if (ROUTER_OWNERS.has(port.deviceOwner)) {
    const name = routerNames.get(port.deviceId);
    return `router ${name ? `${name} (${port.deviceId})` : port.deviceId}`;
  }
  if (podOfPort(port)) return describePort(port);
  return describePort(port);
}

/** An error for deleting something others still use, listing (at most 10 of) them. */
export function inUse(what: string, users: readonly string[], advice: string): InputError {
  const unique = [...new Set(users)];
  const shown = unique.slice(0, 10).join('; ');
  const more = unique.length > 10 ? `; and ${unique.length - 10} more` : '';
  return new InputError('invalid-argument', `${what} is in use by ${shown}${more}: ${advice}`);
}

/** `network "pods" already exists` for a name already used in Neutron. */
export function alreadyExists(noun: Noun, name: string, ids: readonly string[]): StoreError {
  return new StoreError(
    'conflict',
    `${noun} "${name}" already exists (${ids.join(', ')}); choose another name`,
  );
}

/** The command's namespace: -n, else the kubeconfig context's. */
export async function namespaceOf(ctx: CommandContext, scope: Scope): Promise<string> {
  return scope.namespace ?? (await ctx.defaultNamespace(scope));
}

export interface DeleteSteps {
  /** Throws (naming what uses it) when the resource may not go. */
  checkUnused(scope: ClusterScope, r: ManagedResource): Promise<void>;
  /** Deletes it in Neutron; gone already is success. */
  remove(scope: ClusterScope, id: string): Promise<unknown>;
  /** Store records that went with it in Neutron (a network's subnets). */
  forgetAlso?(scope: ClusterScope, r: ManagedResource): Promise<void>;
}

/**
 * delete network|subnet|router NAME…: every one is checked first (one in use deletes none), then
 * each is deleted in Neutron, forgotten by the store and printed.
 */
export async function deleteManaged(
  ctx: CommandContext,
  command: { names: string[]; scope: Scope },
  kind: ResourceKind,
  steps: DeleteSteps,
): Promise<ExitStatus> {
  const scope = await clusterScope(ctx, command.scope);
  const targets: ManagedResource[] = [];
  for (const name of command.names) {
    const managed = await findManaged(scope, kind, name);
    if (!managed) throw notManaged(kind, name, scope.cluster.name);
    await steps.checkUnused(scope, managed);
    targets.push(managed);
  }
  for (const r of targets) {
    await steps.remove(scope, r.id).catch((e: unknown) => {
      if (e instanceof NeutronError && e.reason === 'conflict')
        throw new NeutronError('conflict', `${kind} ${r.name} (${r.id}) is in use: ${e.message}`, {
          cause: e,
        });
      throw e;
    });
    await steps.forgetAlso?.(scope, r);
    await scope.store.resources.delete({ kind, id: r.id });
    printDeleted(ctx, kind, r.name || r.id);
  }
  return { code: 0 };
}
