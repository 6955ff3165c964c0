/**
 * The Neutron v2.0 REST client: typed CRUD for networks, subnets, ports, routers (and their
 * interfaces), security groups and rules; list filters and pagination; tags; typed errors;
 * timeouts; retries with backoff where resending is safe.
 */
import type { z } from 'zod';
import { IdentityError, InputError, NeutronError } from '../errors/index.ts';
import { formatBytes, MiB, readCapped } from '../http/index.ts';
import {
  describeTransportFailure,
  type Interface,
  type Session,
  transportFailure,
} from '../identity/index.ts';
import { type Logger, silentLogger } from '../log/index.ts';
import { errorFromResponse, type FaultContext } from './errors.ts';
import { buildQuery, nextPageQuery, type QueryValue } from './query.ts';
import type { RequestPriority, RequestQueue } from './queue.ts';
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy, safeToResend } from './retry.ts';
import {
  type AddressGroup,
  type AddressGroupCreate,
  type AddressGroupFilters,
  type AddressGroupUpdate,
  type AnyFilters,
  addressGroupBody,
  addressGroupSchema,
  type CreateCommon,
  filterParams,
  type Network,
  type NetworkCreate,
  type NetworkFilters,
  type NetworkUpdate,
  networkBody,
  networkSchema,
  type Port,
  type PortCreate,
  type PortFilters,
  type PortUpdate,
  portBody,
  portSchema,
  type Router,
  type RouterCreate,
  type RouterFilters,
  type RouterInterface,
  type RouterUpdate,
  routerBody,
  routerInterfaceSchema,
  routerSchema,
  type SecurityGroup,
  type SecurityGroupCreate,
  type SecurityGroupFilters,
  type SecurityGroupRule,
  type SecurityGroupRuleCreate,
  type SecurityGroupRuleFilters,
  type SecurityGroupUpdate,
  type Subnet,
  type SubnetCreate,
  type SubnetFilters,
  type SubnetUpdate,
  type SubPort,
  securityGroupBody,
  securityGroupRuleBody,
  securityGroupRuleSchema,
  securityGroupSchema,
  subnetBody,
  subnetSchema,
  subPortBody,
  type Trunk,
  type TrunkCreate,
  type TrunkFilters,
  type TrunkUpdate,
  trunkBody,
  trunkReplySchema,
  trunkSchema,
} from './types.ts';

export interface NeutronClientOptions {
  /** Neutron's base URL; default: the `network` endpoint of the session's catalog. */
  endpoint?: string;
  /** Catalog lookup; defaults to the credentials' interface and region. */
  interface?: Interface;
  region?: string;
  /**
   * Timeout of one HTTP exchange. Default: none when `signal` is given (the caller's deadline
   * bounds every request), else 30 s.
   */
  timeoutMs?: number;
  /** The caller's deadline: every request of this client ends when it aborts, and no retry follows. */
  signal?: AbortSignal | undefined;
  retry?: Partial<RetryPolicy>;
  /**
   * How tags given at create time are set: 'auto' (in the POST when Neutron has the `tag-creation`
   * extension, or `tag-ports-during-bulk-creation` for ports; else a PUT right after, undoing the
   * create if that fails), 'inline' (always in the POST) or 'separate' (always a PUT).
   */
  tagsOnCreate?: 'auto' | 'inline' | 'separate';
  logger?: Logger;
  /** Every request of this client (and of the clients bound from it) waits its turn here. */
  queue?: RequestQueue;
  /** Its place in the queue (default 'foreground'). */
  priority?: RequestPriority;
}

/** What a bound client changes: its deadline, its log, its place in the queue. */
export interface Binding {
  signal?: AbortSignal | undefined;
  logger?: Logger | undefined;
  priority?: RequestPriority | undefined;
}

export interface ListOptions {
  /** Page size (Neutron `limit`); without it Neutron decides (usually everything at once). */
  limit?: number;
  /** Start after this id. */
  marker?: string;
  sortKey?: string;
  sortDir?: 'asc' | 'desc';
}

/** CRUD of one resource kind. */
export interface ResourceApi<T, C, U, Fl> {
  create(input: C): Promise<T>;
  get(id: string): Promise<T>;
  /** All matching resources, following `next` links page by page. */
  list(filters?: Fl, opts?: ListOptions): Promise<T[]>;
  /** The same, one page at a time. */
  pages(filters?: Fl, opts?: ListOptions): AsyncGenerator<T[]>;
  update(id: string, patch: U): Promise<T>;
  delete(id: string): Promise<void>;
  /** Deletes; a resource already gone is success. Returns whether this call deleted it. */
  ensureDeleted(id: string): Promise<boolean>;
}

export interface PortApi extends ResourceApi<Port, PortCreate, PortUpdate, PortFilters> {
  /** The port holding `ip` in `subnetId`, if any (for "IP taken by …" messages). */
  findByIp(subnetId: string, ip: string): Promise<Port | undefined>;
  /**
   * Creates the ports in ONE request (`POST /v2.0/ports` with a list; Neutron makes all or none).
   * Tags are set in the POST when Neutron has tag-ports-during-bulk-creation, else by one PUT per
   * port right after; a port whose tags cannot be set is deleted again, and the others are
   * returned: the caller gets only ports that carry their tags.
   */
  createMany(inputs: readonly PortCreate[]): Promise<Port[]>;
}
export interface RouterApi extends ResourceApi<Router, RouterCreate, RouterUpdate, RouterFilters> {
  addInterface(routerId: string, target: { subnetId: string } | { portId: string }): Promise<RouterInterface>;
  removeInterface(
    routerId: string,
    target: { subnetId: string } | { portId: string },
  ): Promise<RouterInterface>;
}
export interface AddressGroupApi
  extends ResourceApi<AddressGroup, AddressGroupCreate, AddressGroupUpdate, AddressGroupFilters> {
  /** Adds CIDRs (atomically on Neutron's side; CIDRs already in the group are no error). */
  addAddresses(id: string, addresses: readonly string[]): Promise<AddressGroup>;
  /** Removes CIDRs; CIDRs not in the group are no error. */
  removeAddresses(id: string, addresses: readonly string[]): Promise<AddressGroup>;
}
export type SecurityGroupRuleApi = Omit<
  ResourceApi<SecurityGroupRule, SecurityGroupRuleCreate, never, SecurityGroupRuleFilters>,
  'update'
>;

/** Resources that take tags, by URL collection name. */
export interface TrunkApi extends ResourceApi<Trunk, TrunkCreate, TrunkUpdate, TrunkFilters> {
  /**
   * Adds subports in one PUT. Neutron refuses (409, `conflict`) a VLAN the trunk already
   * carries and a port that is already some device's: the caller's arbiter for VLAN choice.
   */
  addSubports(trunkId: string, subPorts: readonly SubPort[]): Promise<Trunk>;
  removeSubports(trunkId: string, portIds: readonly string[]): Promise<Trunk>;
}
export type TaggableCollection = 'networks' | 'subnets' | 'ports' | 'routers' | 'security-groups' | 'trunks';

interface Kind<T> {
  /** URL path segment. */
  path: string;
  /** JSON key of one / of the list. */
  singular: string;
  plural: string;
  label: string;
  schema: z.ZodType<T>;
}

interface CallOptions {
  query?: string;
  body?: unknown;
  ctx: FaultContext;
  /** The largest reply read (default NEUTRON_REPLY_CAP; lists NEUTRON_LIST_CAP). */
  cap?: number;
}

/**
 * The largest Neutron replies read. One object (a port with many fixed IPs and address pairs,
 * an error) is a few KiB: 8 MiB is far beyond any. A list without `limit` is the whole
 * collection: a port is ~1.5–2 KiB of JSON, so 64 MiB holds ~35,000 ports in one reply, more
 * than N-Net's filtered lists (by network, tag, host) return on a large cloud.
 */
export const NEUTRON_REPLY_CAP = 8 * MiB;
export const NEUTRON_LIST_CAP = 64 * MiB;

export class NeutronClient {
  readonly networks: ResourceApi<Network, NetworkCreate, NetworkUpdate, NetworkFilters>;
  readonly subnets: ResourceApi<Subnet, SubnetCreate, SubnetUpdate, SubnetFilters>;
  readonly ports: PortApi;
  readonly routers: RouterApi;
  readonly securityGroups: ResourceApi<
    SecurityGroup,
    SecurityGroupCreate,
    SecurityGroupUpdate,
    SecurityGroupFilters
  >;
  readonly securityGroupRules: SecurityGroupRuleApi;
  readonly addressGroups: AddressGroupApi;
  readonly trunks: TrunkApi;

  private base: string | undefined;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly log: Logger;
  private extensionAliases: Promise<Set<string>> | undefined;

  constructor(
    readonly session: Session,
    private readonly opts: NeutronClientOptions = {},
  ) {
    this.base = opts.endpoint?.replace(/\/+$/, '').replace(/\/v2\.0$/, '');
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.signal = opts.signal;
    this.timeoutMs = opts.timeoutMs ?? (opts.signal ? undefined : 30_000);
    this.log = (opts.logger ?? silentLogger).child({ component: 'neutron' });

    const network: Kind<Network> = {
      path: 'networks',
      singular: 'network',
      plural: 'networks',
      label: 'network',
      schema: networkSchema,
    };
    const subnet: Kind<Subnet> = {
      path: 'subnets',
      singular: 'subnet',
      plural: 'subnets',
      label: 'subnet',
      schema: subnetSchema,
    };
    const port: Kind<Port> = {
      path: 'ports',
      singular: 'port',
      plural: 'ports',
      label: 'port',
      schema: portSchema,
    };
    const router: Kind<Router> = {
      path: 'routers',
      singular: 'router',
      plural: 'routers',
      label: 'router',
      schema: routerSchema,
    };
    const sg: Kind<SecurityGroup> = {
      path: 'security-groups',
      singular: 'security_group',
      plural: 'security_groups',
      label: 'security group',
      schema: securityGroupSchema,
    };
    const rule: Kind<SecurityGroupRule> = {
      path: 'security-group-rules',
      singular: 'security_group_rule',
      plural: 'security_group_rules',
      label: 'security group rule',
      schema: securityGroupRuleSchema,
    };

    this.networks = this.resource<Network, NetworkCreate, NetworkUpdate, NetworkFilters>(
      network,
      networkBody,
      networkBody,
      (c) => `network${named(c.name)}`,
    );
    this.subnets = this.resource<Subnet, SubnetCreate, SubnetUpdate, SubnetFilters>(
      subnet,
      subnetBody,
      subnetBody,
      (c) => `subnet ${c.cidr}${named(c.name)} on network ${c.networkId}`,
    );
    const ports = this.resource<Port, PortCreate, PortUpdate, PortFilters>(
      port,
      portBody,
      portBody,
      (c) => `port${named(c.name)} on network ${c.networkId}`,
    );
    this.ports = {
      ...ports,
      findByIp: async (subnetId, ip) => {
        const found = await ports.list({ fixedIps: [{ subnetId, ipAddress: ip }] });
        return found.find((p) => p.fixedIps.some((f) => f.subnetId === subnetId && f.ipAddress === ip));
      },
      createMany: (inputs) => this.createPorts(inputs, ports),
    };
    const routers = this.resource<Router, RouterCreate, RouterUpdate, RouterFilters>(
      router,
      routerBody,
      routerBody,
      (c) => `router${named(c.name)}`,
    );
    this.routers = {
      ...routers,
      addInterface: (routerId, target) => this.routerInterface('add', routerId, target),
      removeInterface: (routerId, target) => this.routerInterface('remove', routerId, target),
    };
    this.securityGroups = this.resource<
      SecurityGroup,
      SecurityGroupCreate,
      SecurityGroupUpdate,
      SecurityGroupFilters
    >(sg, securityGroupBody, securityGroupBody, (c) => `security group${named(c.name)}`);
    const rules = this.resource<
      SecurityGroupRule,
      SecurityGroupRuleCreate & CreateCommon,
      never,
      SecurityGroupRuleFilters
    >(
      rule,
      securityGroupRuleBody,
      () => ({}),
      (c) => `${c.direction} rule in security group ${c.securityGroupId}`,
    );
    const { update: _noUpdate, ...ruleApi } = rules;
    this.securityGroupRules = ruleApi;
    const ag: Kind<AddressGroup> = {
      path: 'address-groups',
      singular: 'address_group',
      plural: 'address_groups',
      label: 'address group',
      schema: addressGroupSchema,
    };
    const groups = this.resource<AddressGroup, AddressGroupCreate, AddressGroupUpdate, AddressGroupFilters>(
      ag,
      addressGroupBody,
      addressGroupBody,
      (c) => `address group${named(c.name)}`,
    );
    this.addressGroups = {
      ...groups,
      addAddresses: (id, addresses) => this.addressGroupMembers('add', id, addresses),
      removeAddresses: (id, addresses) => this.addressGroupMembers('remove', id, addresses),
    };
    const trunk: Kind<Trunk> = {
      path: 'trunks',
      singular: 'trunk',
      plural: 'trunks',
      label: 'trunk',
      schema: trunkSchema,
    };
    const trunks = this.resource<Trunk, TrunkCreate, TrunkUpdate, TrunkFilters>(
      trunk,
      trunkBody,
      trunkBody,
      (c) => `trunk${named(c.name)} of port ${c.portId}`,
    );
    this.trunks = {
      ...trunks,
      addSubports: (id, subPorts) => this.trunkSubports('add', id, subPorts.map(subPortBody)),
      removeSubports: (id, portIds) =>
        this.trunkSubports(
          'remove',
          id,
          portIds.map((portId) => ({ port_id: portId })),
        ),
    };
  }

  /**
   * The same client (session, endpoint, extension cache) bound to another deadline, or to none
   * (then each request has the default timeout): an undo must still run after the deadline.
   */
  withSignal(signal: AbortSignal | undefined): NeutronClient {
    return this.bound({ signal });
  }

  /**
   * The same client (session, endpoint, extension cache, queue) with another deadline (none: the
   * default timeout per request), and optionally another log and place in the queue.
   */
  bound(b: Binding): NeutronClient {
    const { signal: _, ...rest } = this.opts;
    const c = new NeutronClient(this.session, {
      ...rest,
      ...(b.signal ? { signal: b.signal } : {}),
      ...(b.logger ? { logger: b.logger } : {}),
      ...(b.priority ? { priority: b.priority } : {}),
    });
    c.base = this.base;
    c.extensionAliases = this.extensionAliases;
    return c;
  }

  /** Neutron's base URL (from the catalog unless given). */
  async endpoint(): Promise<string> {
    if (this.base === undefined) {
      const url = await this.session.endpoint('network', {
        ...(this.opts.interface ? { interface: this.opts.interface } : {}),
        ...(this.opts.region !== undefined ? { region: this.opts.region } : {}),
      });
      this.base = url.replace(/\/v2\.0$/, '');
    }
    return this.base;
  }

  /** Aliases of Neutron's API extensions (fetched once per client). */
  extensions(): Promise<Set<string>> {
    this.extensionAliases ??= this.call('GET', '/extensions', {
      ctx: { what: 'listing Neutron extensions' },
    }).then(
      (r) =>
        new Set(((r as { extensions?: { alias?: string }[] }).extensions ?? []).map((e) => String(e.alias))),
      (e) => {
        this.extensionAliases = undefined;
        throw e;
      },
    );
    return this.extensionAliases;
  }

  /** Replaces all tags of a resource (PUT /v2.0/{collection}/{id}/tags). */
  async setTags(collection: TaggableCollection, id: string, tags: readonly string[]): Promise<string[]> {
    const r = await this.call('PUT', `/${collection}/${encodeURIComponent(id)}/tags`, {
      body: { tags },
      ctx: { what: `setting tags of ${collection.replace(/s$/, '').replace('-', ' ')} ${id}` },
    });
    return ((r as { tags?: string[] } | undefined)?.tags ?? [...tags]).map(String);
  }

  /**
   * One Neutron call: JSON in and out, typed errors, retries where resending is safe. The path is
   * relative to /v2.0. Returns the parsed JSON body (undefined for 204).
   */
  async call(method: string, path: string, o: CallOptions): Promise<unknown> {
    const base = await this.endpoint();
    const url = `${base}/v2.0${path}${o.query ? `?${o.query}` : ''}`;
    for (let attempt = 0; ; attempt++) {
      const started = Date.now();
      let failure: NeutronError;
      let resend: boolean;
      try {
        const exchange = async () => {
          const began = Date.now();
          const r = await this.session.request(url, {
            method,
            body: o.body,
            ...(this.timeoutMs !== undefined ? { timeoutMs: this.timeoutMs } : {}),
            ...(this.signal ? { signal: this.signal } : {}),
          });
          const cap = o.cap ?? NEUTRON_REPLY_CAP;
          const text = await readCapped(
            r,
            cap,
            () =>
              new NeutronError(
                'too-large',
                `${o.ctx.what} failed: Neutron at ${base} sent a reply to ${method} /v2.0${path} larger than N-Net's cap of ${formatBytes(cap)}${cap === NEUTRON_LIST_CAP ? ' for lists' : ''}; it was not read further`,
              ),
            this.signal,
          );
          return { res: r, text, began };
        };
        const queue = this.opts.queue;
        const { res, text, began } = queue
          ? await queue.run(exchange, { priority: this.opts.priority ?? 'foreground', signal: this.signal })
          : await exchange();
        // ms: Neutron's own time; queuedMs: the wait for a slot in the node's queue.
        this.log.debug('neutron call', {
          method,
          path,
          status: res.status,
          ms: Date.now() - began,
          ...(queue ? { queuedMs: began - started } : {}),
        });
        if (res.ok) return text === '' ? undefined : parseJson(text, method, path, o.ctx);
        failure = errorFromResponse(res.status, text, o.ctx);
        resend = failure.retryable && safeToResend(method, 'http-retryable');
      } catch (e) {
        if (e instanceof IdentityError || e instanceof NeutronError || e instanceof InputError) throw e;
        const f = transportFailure(e);
        if (!f) throw e;
        if (f.kind === 'tls')
          throw new NeutronError(
            'tls',
            `${o.ctx.what} failed: TLS with Neutron at ${base} failed: ${f.why ?? f.code}; check cacert, cert/key and verify/insecure in ${this.session.credentials.source}`,
          );
        failure = new NeutronError(
          'unavailable',
          `${o.ctx.what} failed: Neutron at ${base} ${describeTransportFailure(f)}`,
          {
            cause: e,
          },
        );
        resend = f.kind !== 'aborted' && safeToResend(method, f);
      }
      if (!resend || attempt >= this.retry.retries || this.signal?.aborted) throw failure;
      const delay = backoffDelay(attempt, this.retry);
      this.log.info('neutron call failed; retrying', {
        method,
        path,
        attempt: attempt + 1,
        delayMs: Math.round(delay),
        error: failure.message,
      });
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private async tagsInline(path: string): Promise<boolean> {
    const mode = this.opts.tagsOnCreate ?? 'auto';
    if (mode !== 'auto') return mode === 'inline';
    const ext = await this.extensions();
    return ext.has('tag-creation') || (path === 'ports' && ext.has('tag-ports-during-bulk-creation'));
  }

  private resource<T extends { id: string }, C extends CreateCommon, U, Fl>(
    kind: Kind<T>,
    createBody: (c: C) => Record<string, unknown>,
    updateBody: (u: U) => Record<string, unknown>,
    describe: (c: C) => string,
  ): ResourceApi<T, C, U, Fl> {
    const one = (r: unknown, ctx: FaultContext): T =>
      parseWith(kind.schema, (r as Record<string, unknown> | undefined)?.[kind.singular], ctx);
    const idPath = (id: string) => `/${kind.path}/${encodeURIComponent(id)}`;

    const api: ResourceApi<T, C, U, Fl> = {
      create: async (input) => {
        const fixed = (input as { fixedIps?: { subnetId?: string; ipAddress?: string }[] }).fixedIps?.find(
          (f) => f.ipAddress,
        );
        const ctx: FaultContext = {
          what: `creating ${describe(input)}`,
          ip: fixed?.ipAddress,
          subnetId: fixed?.subnetId,
        };
        const tags = input.tags && input.tags.length > 0 ? input.tags : undefined;
        const inline = tags !== undefined && (await this.tagsInline(kind.path));
        const body = { ...createBody(input), ...(inline ? { tags } : {}) };
        const created = one(
          await this.call('POST', `/${kind.path}`, { body: { [kind.singular]: body }, ctx }),
          ctx,
        );
        if (!tags || inline) return created;
        try {
          const set = await this.setTags(kind.path as TaggableCollection, created.id, tags);
          return { ...created, tags: set };
        } catch (e) {
          // Tags name the owner; an untagged resource would be an orphan nobody cleans up.
          await api.ensureDeleted(created.id).catch((undo) =>
            this.log.error('could not undo a create after tagging failed', {
              id: created.id,
              error: String(undo),
            }),
          );
          throw e;
        }
      },
      get: async (id) => {
        const ctx = { what: `getting ${kind.label} ${id}` };
        return one(await this.call('GET', idPath(id), { ctx }), ctx);
      },
      list: async (filters, opts) => {
        const all: T[] = [];
        for await (const page of api.pages(filters, opts)) all.push(...page);
        return all;
      },
      pages: async function* (this: void, filters, opts) {
        yield* pagesOf(filters, opts);
      },
      update: async (id, patch) => {
        const ctx = { what: `updating ${kind.label} ${id}` };
        return one(
          await this.call('PUT', idPath(id), { body: { [kind.singular]: updateBody(patch) }, ctx }),
          ctx,
        );
      },
      delete: async (id) => {
        await this.call('DELETE', idPath(id), { ctx: { what: `deleting ${kind.label} ${id}` } });
      },
      ensureDeleted: async (id) => {
        try {
          await api.delete(id);
          return true;
        } catch (e) {
          if (e instanceof NeutronError && e.reason === 'not-found') return false;
          throw e;
        }
      },
    };

    const self = this;
    async function* pagesOf(filters: Fl | undefined, opts: ListOptions = {}): AsyncGenerator<T[]> {
      const ctx = { what: `listing ${kind.plural.replaceAll('_', ' ')}` };
      const params: Record<string, QueryValue> = {
        ...filterParams(filters as AnyFilters | undefined),
        limit: opts.limit,
        marker: opts.marker,
        sort_key: opts.sortKey,
        sort_dir: opts.sortDir,
      };
      let query: string | undefined = buildQuery(params);
      const seen = new Set<string>();
      while (query !== undefined) {
        seen.add(query);
        const reply = (await self.call('GET', `/${kind.path}`, { query, ctx, cap: NEUTRON_LIST_CAP })) as
          | Record<string, unknown>
          | undefined;
        const raw = reply?.[kind.plural];
        if (!Array.isArray(raw)) throw unexpected(ctx, `no "${kind.plural}" list in the reply`);
        const items = raw.map((r) => parseWith(kind.schema, r, ctx));
        if (items.length > 0) yield items;
        const next = items.length > 0 ? nextPageQuery(reply, kind.plural) : undefined;
        // A link back to a page already read would loop forever.
        query = next !== undefined && !seen.has(next) ? next : undefined;
      }
    }
    return api;
  }

  private async createPorts(
    inputs: readonly PortCreate[],
    ports: ResourceApi<Port, PortCreate, PortUpdate, PortFilters>,
  ): Promise<Port[]> {
    if (inputs.length === 0) return [];
    const ctx: FaultContext = { what: `creating ${inputs.length} ports on network ${inputs[0]!.networkId}` };
    const tagged = inputs.some((i) => (i.tags?.length ?? 0) > 0);
    const inline = tagged && (await this.tagsInline('ports'));
    const body = {
      ports: inputs.map((i) => ({ ...portBody(i), ...(inline && i.tags?.length ? { tags: i.tags } : {}) })),
    };
    const reply = (await this.call('POST', '/ports', { body, ctx })) as { ports?: unknown } | undefined;
    if (!Array.isArray(reply?.ports) || reply.ports.length !== inputs.length)
      throw unexpected(ctx, `the reply does not list ${inputs.length} ports`);
    const created = reply.ports.map((r) => parseWith(portSchema, r, ctx));
    if (!tagged || inline) return created;
    const settled = await Promise.allSettled(
      created.map(async (p, i) => {
        const tags = inputs[i]!.tags ?? [];
        return tags.length > 0 ? { ...p, tags: await this.setTags('ports', p.id, tags) } : p;
      }),
    );
    const out: Port[] = [];
    let failure: unknown;
    for (const [i, r] of settled.entries()) {
      if (r.status === 'fulfilled') {
        out.push(r.value);
        continue;
      }
      failure ??= r.reason;
      // Tags name the owner; an untagged port would be an orphan nobody cleans up.
      await ports.ensureDeleted(created[i]!.id).catch((undo) =>
        this.log.error('could not undo a create after tagging failed', {
          id: created[i]!.id,
          error: String(undo),
        }),
      );
    }
    if (out.length === 0 && failure !== undefined) throw failure;
    return out;
  }

  private async trunkSubports(
    op: 'add' | 'remove',
    id: string,
    subPorts: Record<string, unknown>[],
  ): Promise<Trunk> {
    const what = subPorts
      .map((s) => `port ${s.port_id}${s.segmentation_id === undefined ? '' : ` (VLAN ${s.segmentation_id})`}`)
      .join(', ');
    const ctx = {
      what: `${op === 'add' ? 'adding' : 'removing'} subport ${what} ${op === 'add' ? 'to' : 'from'} trunk ${id}`,
    };
    const r = await this.call('PUT', `/trunks/${encodeURIComponent(id)}/${op}_subports`, {
      body: { sub_ports: subPorts },
      ctx,
    });
    return parseWith(trunkReplySchema, r, ctx);
  }

  private async addressGroupMembers(
    op: 'add' | 'remove',
    id: string,
    addresses: readonly string[],
  ): Promise<AddressGroup> {
    const ctx = {
      what: `${op === 'add' ? 'adding' : 'removing'} ${addresses.join(', ')} ${op === 'add' ? 'to' : 'from'} address group ${id}`,
    };
    const r = await this.call('PUT', `/address-groups/${encodeURIComponent(id)}/${op}_addresses`, {
      body: { addresses },
      ctx,
    });
    return parseWith(addressGroupSchema, (r as Record<string, unknown> | undefined)?.address_group, ctx);
  }

  private async routerInterface(
    op: 'add' | 'remove',
    routerId: string,
    target: { subnetId: string } | { portId: string },
  ): Promise<RouterInterface> {
    const what = 'subnetId' in target ? `subnet ${target.subnetId}` : `port ${target.portId}`;
    const ctx = {
      what: `${op === 'add' ? 'adding' : 'removing'} ${what} ${op === 'add' ? 'to' : 'from'} router ${routerId}`,
    };
    const body = 'subnetId' in target ? { subnet_id: target.subnetId } : { port_id: target.portId };
    const r = await this.call('PUT', `/routers/${encodeURIComponent(routerId)}/${op}_router_interface`, {
      body,
      ctx,
    });
    return parseWith(routerInterfaceSchema, r, ctx);
  }
}

function named(name: string | undefined): string {
  return name ? ` "${name}"` : '';
}

function unexpected(ctx: FaultContext, why: string): NeutronError {
  return new NeutronError('unavailable', `${ctx.what}: unexpected reply from Neutron: ${why}`);
}

function parseJson(text: string, method: string, path: string, ctx: FaultContext): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw unexpected(ctx, `${method} ${path} did not return JSON`);
  }
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, ctx: FaultContext): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw unexpected(ctx, issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid');
}

/** A Neutron client over an authenticated session. */
export function createNeutronClient(session: Session, opts: NeutronClientOptions = {}): NeutronClient {
  return new NeutronClient(session, opts);
}
