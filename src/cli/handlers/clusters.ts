/**
 * Clusters: register a Kubernetes cluster's Keystone identity for the CNI plugin (verified with
 * Keystone first: a rejected credential stores nothing), list them without their secrets, and
 * remove them once nothing of theirs is left.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { IdentityError, InputError, StoreError } from '../../errors/index.ts';
import {
  type Credentials,
  createSession,
  credentialsFromObject,
  loadCredentials,
} from '../../identity/index.ts';
import { createNeutronClient, type NeutronClient, type Subnet } from '../../neutron/index.ts';
import {
  type ClusterScope,
  cidrsOverlap,
  parseCidr,
  releaseClusterNodes,
  resolveNetwork,
  resolveSecurityGroups,
  resolveSubnet,
  subnetLabel,
} from '../../resources/index.ts';
import {
  type Cluster,
  type ClusterCredentials,
  type ClusterInput,
  DEFAULT_SERVICE_CIDRS,
  POOL_LIMITS,
  type PoolSettings,
  type Store,
} from '../../store/index.ts';
import type { CommandContext, CommandOf } from '../context.ts';
import type { ExitStatus } from '../kubectl.ts';
import { userProject } from '../ownership.ts';
import { type ClusterView, clusterPrinter, describeCluster } from '../printers.ts';
import { KEYSTONE_TIMEOUT_MS, NEUTRON_TIMEOUT_MS } from '../session.ts';
import type { ClusterCredentialSource, PoolFlags } from '../types.ts';
import { type Listing, pick, printCreated, printDeleted, printDescriptions, printListing } from './common.ts';

/** The secret of --secret-stdin / --secret-file: one line, its newline dropped. */
async function readSecret(
  secret: { from: 'stdin' } | { from: 'file'; path: string },
  ctx: CommandContext,
): Promise<string> {
  let text: string;
  if (secret.from === 'stdin') text = (await ctx.io.readStdin()).toString('utf8');
  else {
    let mode: number;
    try {
      mode = statSync(secret.path).mode;
      text = readFileSync(secret.path, 'utf8');
    } catch (e) {
      throw new InputError(
        'io',
        `cannot read --secret-file ${secret.path}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
    if ((mode & 0o077) !== 0)
      throw new InputError(
        'invalid-argument',
        `--secret-file ${secret.path} is readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it first`,
      );
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '' || value.includes('\n'))
    throw new InputError(
      'invalid-argument',
      `the secret from ${secret.from === 'stdin' ? 'stdin' : secret.path} must be one non-empty line`,
    );
  return value;
}

async function credentialsFrom(source: ClusterCredentialSource, ctx: CommandContext): Promise<Credentials> {
  const env = ctx.io.env;
  switch (source.from) {
    case 'clouds-yaml':
      return loadCredentials({ cloud: source.cloud, file: source.cloudsFile, env });
    case 'env':
      return loadCredentials({ env });
    case 'flags': {
      const secret = await readSecret(source.secret, ctx);
      const auth: Record<string, string> = { auth_url: source.authUrl };
      if (source.applicationCredentialId !== undefined) {
        auth.application_credential_id = source.applicationCredentialId;
        auth.application_credential_secret = secret;
        return credentialsFromObject({ auth_type: 'v3applicationcredential', auth }, 'the command line');
      }
      auth.username = source.username!;
      auth.password = secret;
      auth.project_name = source.project!;
      if (source.userDomain !== undefined) auth.user_domain_name = source.userDomain;
      else auth.user_domain_id = 'default';
      if (source.projectDomain !== undefined) auth.project_domain_name = source.projectDomain;
      else auth.project_domain_id = 'default';
      return credentialsFromObject({ auth_type: 'password', auth }, 'the command line');
    }
  }
}

/**
 * What the store keeps: where the nodes find the credentials, never the secret. Without
 * --node-credentials, the one file the credentials came from (a clouds.yaml or an openrc).
 */
function credentialsReference(
  c: Credentials,
  asked: CommandOf<'create-cluster'>['nodeCredentials'],
): Extract<ClusterCredentials, { type: 'node-file' }> {
  const ref = asked ?? c.file;
  if (!ref)
    throw new InputError(
      'invalid-argument',
      `the N-Net store never keeps a cluster's secret, and the credentials of ${c.source} are in no one file: give --node-credentials PATH, the clouds.yaml (with --node-cloud) or openrc every node has, mode 0600`,
    );
  const path = resolve(ref.path);
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(path);
  } catch {
    st = undefined; // only on the nodes: checked by them
  }
  if (st && (st.mode & 0o077) !== 0)
    throw new InputError(
      'invalid-argument',
      `${path} is open to others (mode ${(st.mode & 0o777).toString(8)}); nodes refuse credentials files that are not 0600: chmod 600 it first`,
    );
  const who =
    c.method === 'application-credential'
      ? {
          user: `application-credential/${'id' in c.applicationCredential ? c.applicationCredential.id : c.applicationCredential.name}`,
        }
      : {
          user: 'name' in c.user ? c.user.name : c.user.id,
          ...(c.scope && 'project' in c.scope
            ? { project: 'name' in c.scope.project ? c.scope.project.name : c.scope.project.id }
            : {}),
        };
  return { type: 'node-file', path, ...(ref.cloud !== undefined ? { cloud: ref.cloud } : {}), ...who };
}

/** Keystone's answer for these credentials, as the plugin will ask it (no cached token). */
async function verifyWithKeystone(credentials: Credentials, cluster: string) {
  const keystone = createSession(credentials, { cacheDir: null, authTimeoutMs: KEYSTONE_TIMEOUT_MS });
  try {
    await keystone.token();
  } catch (e) {
    if (e instanceof IdentityError && e.reason === 'rejected')
      throw new IdentityError('rejected', `cluster "${cluster}" not registered: ${e.message}`, {
        cause: e,
      });
    throw e;
  }
  return keystone;
}

/** --migrate-credentials: an existing cluster keeps everything but its credentials. */
async function migrateCredentials(
  command: CommandOf<'create-cluster'>,
  ctx: CommandContext,
  credentials: Credentials,
  stored: ClusterCredentials,
): Promise<ExitStatus> {
  const session = ctx.session(command.scope);
  const store = await session.existingStore();
  const before = store ? await store.clusters.get(command.name) : undefined;
  if (!store || !before)
    throw new StoreError(
      'not-found',
      `cluster "${command.name}" is not registered; --migrate-credentials changes an existing cluster`,
    );
  if (before.authUrl !== credentials.authUrl)
    throw new InputError(
      'invalid-argument',
      `cluster "${command.name}" uses Keystone ${before.authUrl}, these credentials ${credentials.authUrl}`,
    );
  await verifyWithKeystone(credentials, command.name);
  const after = await store.clusters.update(command.name, (cur) => {
    if (!cur) return undefined;
    const { createdAt: _, ...input } = cur;
    return { ...input, credentials: stored };
  });
  if (!after) throw new StoreError('not-found', `cluster "${command.name}" was deleted meanwhile`);
  ctx.io.stderr(
    `cluster "${command.name}": the store now keeps only where nodes find its credentials (${stored.type === 'node-file' ? stored.path : ''}); make sure every node has that file before its next pod`,
  );
  return printCreated(ctx, clusterPrinter, await viewOf(after, store), command.output);
}

export async function createCluster(
  command: CommandOf<'create-cluster'>,
  ctx: CommandContext,
): Promise<ExitStatus> {
  const session = ctx.session(command.scope);
  const existing = await session.existingStore();
  if (!command.migrateCredentials && existing && (await existing.clusters.get(command.name)))
    throw new StoreError(
      'conflict',
      `cluster "${command.name}" is already registered in ${session.settings.storeUrl}; delete it first to register it again`,
    );

  const loaded = await credentialsFrom(command.credentials, ctx);
  const credentials: Credentials = {
    ...loaded,
    ...(command.region !== undefined ? { regionName: command.region } : {}),
    ...(command.interface !== undefined ? { interface: command.interface } : {}),
  };
  const stored = credentialsReference(credentials, command.nodeCredentials);
  if (command.migrateCredentials) return migrateCredentials(command, ctx, credentials, stored);
  const keystone = await verifyWithKeystone(credentials, command.name);

  const record: ClusterInput = {
    name: command.name,
    authUrl: credentials.authUrl,
    ...(credentials.regionName ? { region: credentials.regionName } : {}),
    interface: credentials.interface,
    credentials: stored,
  };
  const store = await session.store();
  if (command.defaultNetwork !== undefined || command.defaultSubnet !== undefined) {
    // Looked up as the cluster will see Neutron: the CNI plugin uses these credentials.
    const scope: ClusterScope = {
      store,
      cluster: { name: record.name },
      neutron: createNeutronClient(keystone, { timeoutMs: NEUTRON_TIMEOUT_MS }),
    };
    Object.assign(record, await resolveDefaults(scope, command));
  }
  if (command.serviceCidrs) {
    const defaultSubnets = record.defaultNetworkId
      ? await createNeutronClient(keystone, { timeoutMs: NEUTRON_TIMEOUT_MS }).subnets.list({
          networkId: record.defaultNetworkId,
        })
      : [];
    const problem = serviceCidrClash(command.serviceCidrs, defaultSubnets);
    if (problem) throw new InputError('invalid-argument', problem);
    record.serviceCidrs = command.serviceCidrs;
  }
  if (command.securityGroups)
    record.podSecurityGroupIds = await groupIds(
      createNeutronClient(keystone, { timeoutMs: NEUTRON_TIMEOUT_MS }),
      command.securityGroups,
    );
  if (command.pool) {
    const pool = poolSettings(undefined, command.pool);
    if (pool) record.pool = pool;
  }
  const cluster = await store.clusters.put(record);
  return printCreated(ctx, clusterPrinter, await viewOf(cluster, store), command.output);
}

/** --security-group values → the ids of those groups of the credentials' project. */
async function groupIds(neutron: NeutronClient, refs: readonly string[]): Promise<string[]> {
  const project = await userProject({ neutron });
  return (await resolveSecurityGroups(neutron, project.id, refs)).map((g) => g.id);
}

/** --default-network / --default-subnet → their Neutron ids (a subnet alone names its network). */
async function resolveDefaults(
  scope: ClusterScope,
  command: Pick<CommandOf<'create-cluster'>, 'defaultNetwork' | 'defaultSubnet'>,
): Promise<Pick<Cluster, 'defaultNetworkId' | 'defaultSubnetId'>> {
  const network =
    command.defaultNetwork !== undefined ? await resolveNetwork(scope, command.defaultNetwork) : undefined;
  const subnet =
    command.defaultSubnet !== undefined
      ? await resolveSubnet(scope, command.defaultSubnet, network)
      : undefined;
  const defaultNetworkId = network?.id ?? subnet?.networkId;
  return {
    ...(defaultNetworkId !== undefined ? { defaultNetworkId } : {}),
    ...(subnet ? { defaultSubnetId: subnet.id } : {}),
  };
}

async function viewOf(c: Cluster, store: Store): Promise<ClusterView> {
  const name = async (kind: 'network' | 'subnet', id: string | undefined) => {
    if (id === undefined) return undefined;
    const managed = await store.resources.get({ kind, id });
    return managed?.name || id;
  };
  const creds = c.credentials;
  const defaultNetwork = await name('network', c.defaultNetworkId);
  const defaultSubnet = await name('subnet', c.defaultSubnetId);
  return {
    name: c.name,
    authUrl: c.authUrl,
    ...(creds.type === 'node-file'
      ? {
          user: creds.user ?? creds.path,
          ...(creds.project !== undefined ? { project: creds.project } : {}),
        }
      : creds.type === 'password'
        ? {
            user: creds.username,
            userDomain: creds.userDomain,
            project: creds.projectName,
            projectDomain: creds.projectDomain,
          }
        : { user: `application-credential/${creds.id}` }),
    credentials:
      creds.type === 'node-file'
        ? `in ${creds.path}${creds.cloud !== undefined ? ` (cloud ${creds.cloud})` : ''} on each node`
        : `its secret is in the store (registered by an older N-Net): move it out with --migrate-credentials`,
    ...(c.region !== undefined ? { region: c.region } : {}),
    ...(c.interface !== undefined ? { interface: c.interface } : {}),
    ...(defaultNetwork !== undefined ? { defaultNetwork } : {}),
    ...(defaultSubnet !== undefined ? { defaultSubnet } : {}),
    serviceCidrs: c.serviceCidrs ?? [...DEFAULT_SERVICE_CIDRS],
    ...(c.podSecurityGroupIds ? { securityGroups: c.podSecurityGroupIds } : {}),
    ...(c.pool ? { pool: c.pool } : {}),
    createdAt: c.createdAt,
  };
}

/**
 * The pool settings after --pool-min/--pool-max/--pool-batch: what is not given keeps its value,
 * else its default (max: max(16, 2 × min); batch: min(16, max(min, 1))). max 0 means no pools.
 */
export function poolSettings(current: PoolSettings | undefined, given: PoolFlags): PoolSettings | undefined {
  const min = given.min ?? current?.min ?? 0;
  const max =
    given.max ?? (given.min !== undefined ? Math.max(16, 2 * min) : (current?.max ?? Math.max(16, 2 * min)));
  const batch = given.batch ?? current?.batch ?? Math.min(16, Math.max(min, 1));
  if (max === 0) return undefined;
  if (min > max)
    throw new InputError(
      'invalid-argument',
      `the pool's min (${min}) would be more than its max (${max}): give --pool-max`,
    );
  return { min, max: Math.min(max, POOL_LIMITS.max), batch: Math.min(batch, POOL_LIMITS.batch) };
}

/**
 * `set cluster NAME --pool-… --default-network …`: the nodes' agents read the new settings within
 * seconds. Names are looked up with the caller's own OpenStack credentials, as for create.
 */
export async function setCluster(
  command: CommandOf<'set-cluster'>,
  ctx: CommandContext,
): Promise<ExitStatus> {
  const store = await ctx.session(command.scope).existingStore();
  const current = store ? await store.clusters.get(command.name) : undefined;
  if (!store || !current) throw new StoreError('not-found', `cluster "${command.name}" not found`);
  const pool = command.pool ? poolSettings(current.pool, command.pool) : current.pool;
  const defaults =
    command.defaultNetwork !== undefined || command.defaultSubnet !== undefined
      ? await resolveDefaults(
          { store, cluster: { name: current.name }, neutron: await ctx.session(command.scope).neutron() },
          command,
        )
      : undefined;
  const groups = command.securityGroups
    ? await groupIds(await ctx.session(command.scope).neutron(), command.securityGroups)
    : undefined;
  const updated = await store.clusters.update(command.name, (cur) => {
    if (!cur) return undefined;
    const { createdAt: _, pool: __, ...rest } = cur;
    if (groups) rest.podSecurityGroupIds = groups;
    if (defaults) {
      delete rest.defaultNetworkId;
      delete rest.defaultSubnetId;
      Object.assign(rest, defaults);
    }
    return pool ? { ...rest, pool } : rest;
  });
  if (!updated) throw new StoreError('not-found', `cluster "${command.name}" not found`);
  return printCreated(ctx, clusterPrinter, await viewOf(updated, store), command.output, 'configured');
}

async function listClusters(ctx: CommandContext, scope: CommandOf<'get'>['scope'], names: readonly string[]) {
  const store = await ctx.session(scope).existingStore();
  const clusters = store ? await store.clusters.list() : [];
  const views: ClusterView[] = [];
  for (const c of clusters) views.push(await viewOf(c, store!));
  return pick(views, names, (v) => [v.name]);
}

export async function getClusters(command: CommandOf<'get'>, ctx: CommandContext): Promise<ExitStatus> {
  const listing: Listing<ClusterView> = await listClusters(ctx, command.scope, command.names);
  return printListing(ctx, clusterPrinter, listing, { format: command.output, names: command.names });
}

export async function describeClusters(
  command: CommandOf<'describe'>,
  ctx: CommandContext,
): Promise<ExitStatus> {
  const listing = await listClusters(ctx, command.scope, command.names);
  return printDescriptions(ctx, 'cluster', listing, describeCluster);
}

export async function deleteClusters(command: CommandOf<'delete'>, ctx: CommandContext): Promise<ExitStatus> {
  const store = await ctx.session(command.scope).existingStore();
  const targets: Cluster[] = [];
  for (const name of command.names) {
    const cluster = store ? await store.clusters.get(name) : undefined;
    if (!cluster) throw new StoreError('not-found', `cluster "${name}" not found`);
    const [configs, resources] = await Promise.all([
      store!.podConfigs.list({ cluster: name }),
      store!.resources.list({ cluster: name }),
    ]);
    if (configs.length > 0 || resources.length > 0) {
      const count = (n: number, noun: string) => `${n} ${noun}${n > 1 ? 's' : ''}`;
      const kinds = (['network', 'subnet', 'router'] as const)
        .map((k) => [k, resources.filter((r) => r.kind === k).length] as const)
        .filter(([, n]) => n > 0);
      const parts = [
        ...(configs.length > 0 ? [count(configs.length, 'podnetwork')] : []),
        ...kinds.map(([k, n]) => count(n, k)),
      ];
      throw new InputError(
        'invalid-argument',
        `cluster ${name} still has ${parts.join(', ')}: delete them first ('kubenetctl get TYPE -A --cluster ${name}' lists them)`,
      );
    }
    targets.push(cluster);
  }
  for (const cluster of targets) {
    // The nodes' own ports and the node-access groups go with the cluster.
    const nodes = await store!.nodes.list({ cluster: cluster.name });
    if (nodes.length > 0 || cluster.nodeAccess) {
      const neutron = await ctx.session(command.scope).neutron();
      await releaseClusterNodes(
        neutron,
        cluster.name,
        cluster.nodeAccess,
        nodes.map((n) => n.name),
      );
      for (const n of nodes) await store!.nodes.delete({ cluster: cluster.name, name: n.name });
    }
    await store!.clusters.delete(cluster.name);
    printDeleted(ctx, 'cluster', cluster.name);
  }
  return { code: 0 };
}

/** A Service CIDR must not overlap a pod subnet: say which two ranges clash. */
function serviceCidrClash(serviceCidrs: readonly string[], subnets: readonly Subnet[]): string | undefined {
  for (const svc of serviceCidrs) {
    const a = parseCidr(svc);
    if (!a.ok) return `--service-cidr ${svc} is ${a.reason}`;
    for (const s of subnets) {
      const b = parseCidr(s.cidr);
      if (b.ok && cidrsOverlap(a.value, b.value))
        return `the Service CIDR ${svc} overlaps the pod subnet ${subnetLabel(s)} of the default network; choose a Service CIDR outside it`;
    }
  }
  return undefined;
}
