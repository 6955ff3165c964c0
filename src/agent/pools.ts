/**
 * The node's warm port pools, kept by the agent (README.md "Warm port pools"). One pool per
 * network × subnets × security-group set (src/network/pools.ts); the cluster's record says how
 * many ports each keeps ready (min), how many it keeps at most (max), and how many one Neutron
 * request makes (batch). ADD takes a ready port without waiting (take); DEL gives it back while
 * the pool has room (giveBack). Everything else runs in the background, in the node's Neutron
 * queue with background priority: refills (one bulk request at a time, at least `refillGapMs`
 * apart, so a pool never floods Neutron), owner updates (Neutron's name, device_id and tags follow
 * the port's holder), drains, and the record of each pool's state in the store.
 *
 *   const pools = createPoolManager({ conf, withCtx, log, metrics });
 *   handle.attachPools(pools); await pools.start(); … await pools.stop();
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NeutronError } from '../errors/index.ts';
import { faultPoint } from '../faults/index.ts';
import type { Logger } from '../log/index.ts';
import {
  defaultPoolKey,
  type GiveBack,
  type NodeContext,
  type PooledPort,
  type PoolKey,
  type PortPools,
  poolKeyOfPort,
  poolKeyText,
  trunkOf,
} from '../network/index.ts';
import type { NeutronClient, Port, Subnet, Trunk } from '../neutron/index.ts';
import {
  listPoolPorts,
  plugPoolPorts,
  returnToPool,
  unplug,
  unplugPoolPorts,
  waitOvnClaimed,
} from '../plug/index.ts';
import {
  addSubports,
  createPoolPorts,
  ensureBound,
  heldOwner,
  nodePoolPorts,
  ownerMatches,
  type PortOwner,
  poolOwner,
  removeSubports,
  setPortOwner,
} from '../resources/index.ts';
import type { Attachment, PoolRecord, PoolSettings } from '../store/index.ts';
import { describeError, type NetConf } from './config.ts';
import type { AgentMetrics } from './metrics.ts';

export interface PoolManagerOptions {
  conf: NetConf;
  /** Runs `fn` on the node's warm context, its Neutron requests with background priority. */
  withCtx: <T>(fn: (ctx: NodeContext) => Promise<T>) => Promise<T>;
  log: Logger;
  metrics: AgentMetrics;
  /** At least this long between two refill requests of the node (default 1 s). */
  refillGapMs?: number;
  /** How often the settings are read again and the state recorded (default 5 s). */
  tickMs?: number;
}

export interface PoolManager extends PortPools {
  /** Rebuilds the pools from Neutron (tags) and OVS, then keeps them (refill, settings, record). */
  start(): Promise<void>;
  /** With the agent's reconcile: ports that vanished, lag (owner fields) or are nobody's. */
  reconcile(): Promise<void>;
  stop(): Promise<void>;
}

interface Pool {
  key: PoolKey;
  text: string;
  ready: PooledPort[];
  /** Ports held by pods (or by an ADD in flight). */
  inUse: Set<string>;
  creating: number;
  subnets: Subnet[];
  mtu: number;
  factsAt: number;
  refillError: string | undefined;
  retryAt: number;
  createdAt: string;
}

const FACTS_MS = 10 * 60_000;
const CLAIM_WAIT_MS = 30_000;
const QUOTA_RETRY_MS = 60_000;

export function createPoolManager(o: PoolManagerOptions): PoolManager {
  const { conf, log, metrics } = o;
  const cluster = conf.cluster;
  const node = conf.nodeName;
  const gapMs = o.refillGapMs ?? 1000;
  const pools = new Map<string, Pool>();
  /** Every pool port the agent knows, as Neutron had it, and who Neutron says holds it. */
  const known = new Map<string, Port>();
  const neutronOwner = new Map<string, string>();
  const owners = new Map<string, PortOwner>();
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<unknown>>();
  let settings: PoolSettings | undefined;
  let settingsKnown = false;
  let rebuilt = false;
  let stopped = false;
  let refilling = false;
  let refillAt = 0;
  let syncing = 0;
  let recordPending = false;

  const preplug = () => conf.plugDriver === 'internal';
  // A nested node (a VM) keeps its pool ports on its trunk, each with its VLAN (as Kuryr's nested
  // pools did): ADD then only makes and moves the VLAN device. Nothing is pre-plugged in the VM.
  const nested = conf.plugDriver === 'vlan';
  const subports = new Map<string, { trunkId: string; vlan: number }>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    running.add(p);
    void p.finally(() => running.delete(p)).catch(() => undefined);
    return p;
  };
  const later = (ms: number, fn: () => void) => {
    if (stopped) return;
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped) fn();
    }, ms);
    timers.add(t);
  };

  function poolOf(key: PoolKey): Pool {
    const text = poolKeyText(key);
    let p = pools.get(text);
    if (!p) {
      p = {
        key,
        text,
        ready: [],
        inUse: new Set(),
        creating: 0,
        subnets: [],
        mtu: conf.mtu ?? 1500,
        factsAt: 0,
        refillError: undefined,
        retryAt: 0,
        createdAt: new Date().toISOString(),
      };
      pools.set(text, p);
    }
    return p;
  }

  /**
   * A port joins its pool's ready list once: a port listed twice would go to two pods, and the
   * second ADD would wait for a tap the first had already moved.
   */
  function addReady(pool: Pool, port: Port): boolean {
    if (pool.inUse.has(port.id) || pool.ready.some((r) => r.port.id === port.id)) return false;
    const subport = subports.get(port.id);
    if (nested && !subport) return false;
    pool.ready.push({ port, key: pool.text, subnets: pool.subnets, mtu: pool.mtu, subport });
    return true;
  }

  // ---- Owner updates: Neutron's fields follow the holder, coalesced per port.

  const ownerText = (w: PortOwner) => JSON.stringify([w.name, w.deviceId, [...w.tags].sort()]);

  function queueOwner(portId: string, owner: PortOwner): void {
    if (neutronOwner.get(portId) === ownerText(owner)) owners.delete(portId);
    else owners.set(portId, owner);
    kickOwners();
  }

  /** When Neutron's fields of `port` lag `owner`, they are corrected. */
  function syncOwner(port: Port, owner: PortOwner): void {
    if (ownerMatches(port, owner)) neutronOwner.set(port.id, ownerText(owner));
    queueOwner(port.id, owner);
  }

  function kickOwners(): void {
    while (!stopped && syncing < 2 && owners.size > 0) {
      syncing += 1;
      void track(ownerWorker()).finally(() => {
        syncing -= 1;
      });
    }
  }

  async function ownerWorker(): Promise<void> {
    for (;;) {
      const next = owners.entries().next();
      if (next.done || stopped) return;
      const [portId, owner] = next.value;
      owners.delete(portId);
      if (neutronOwner.get(portId) === ownerText(owner)) continue;
      try {
        await o.withCtx(async (ctx) => setPortOwner(await ctx.neutron(), portId, owner));
        neutronOwner.set(portId, ownerText(owner));
        metrics.poolOwnerUpdates.inc({ result: 'ok' });
      } catch (e) {
        if (e instanceof NeutronError && e.reason === 'not-found') continue;
        metrics.poolOwnerUpdates.inc({ result: 'error' });
        log.warn('could not update a pool port to name its holder; retrying', {
          portId,
          error: describeError(e),
        });
        later(2000, () => {
          if (!owners.has(portId)) queueOwner(portId, owner);
        });
      }
    }
  }

  // ---- What ADD and DEL call.

  const pools_: PortPools = {
    take(key) {
      if (!settings || stopped) return undefined;
      const pool = poolOf(key);
      const p = pool.ready.shift();
      if (p) {
        pool.inUse.add(p.port.id);
        metrics.poolHits.inc();
      } else metrics.poolMisses.inc();
      scheduleRefill(0);
      scheduleRecord();
      return p;
    },
    held(p, owner) {
      queueOwner(p.port.id, heldOwner(owner.pod, owner.containerId, node));
    },
    lost(p, netns) {
      pools.get(p.key)?.inUse.delete(p.port.id);
      void track(release([p.port.id], netns));
      scheduleRecord();
    },
    giveBack: (g) => giveBack(g),
  };

  async function giveBack(g: GiveBack): Promise<boolean> {
    const pool = pools.get(g.pool);
    const port = known.get(g.portId);
    pool?.inUse.delete(g.portId);
    if (!settings || stopped || !pool || !port || pool.ready.length + pool.creating >= settings.max)
      return false;
    if (nested && !subports.has(g.portId)) return false;
    try {
      await o.withCtx(async (ctx) => {
        if (preplug()) await returnToPool(ctx.plug, { ...g, networkId: port.networkId });
        else await unplug(ctx.plug, { portId: g.portId, netns: g.netns }, { log });
      });
    } catch (e) {
      log.warn('could not return the port to its pool; releasing it instead', {
        portId: g.portId,
        error: describeError(e),
      });
      return false;
    }
    addReady(pool, port);
    metrics.poolRecycled.inc();
    queueOwner(g.portId, poolOwner(cluster, node));
    scheduleRecord();
    return true;
  }

  // ---- Refill: one bulk request at a time, `gapMs` apart.

  function deficit(p: Pool): number {
    if (!settings) return 0;
    return settings.min - p.ready.length - p.creating;
  }

  function scheduleRefill(delayMs: number): void {
    if (stopped || refilling) return;
    later(Math.max(delayMs, refillAt - Date.now()), () => void runRefill());
  }

  async function runRefill(): Promise<void> {
    if (refilling || stopped || !settings) return;
    const now = Date.now();
    const due = [...pools.values()].filter((p) => deficit(p) > 0);
    const pool = due.filter((p) => p.retryAt <= now).sort((a, b) => deficit(b) - deficit(a))[0];
    if (!pool) {
      const next = Math.min(...due.map((p) => p.retryAt));
      if (Number.isFinite(next)) scheduleRefill(next - now);
      return;
    }
    refilling = true;
    refillAt = now + gapMs;
    const n = Math.max(1, Math.min(settings.batch, settings.max - pool.ready.length - pool.creating));
    try {
      await track(fill(pool, n));
    } finally {
      refilling = false;
      scheduleRefill(gapMs);
    }
  }

  async function facts(ctx: NodeContext, pool: Pool): Promise<void> {
    if (pool.subnets.length > 0 && Date.now() - pool.factsAt < FACTS_MS) return;
    const neutron = await ctx.neutron();
    const [subnets, network] = await Promise.all([
      neutron.subnets.list({ id: [...pool.key.subnetIds] }),
      conf.mtu === undefined ? neutron.networks.get(pool.key.networkId) : undefined,
    ]);
    pool.subnets = subnets;
    pool.mtu = conf.mtu ?? network?.mtu ?? 1500;
    pool.factsAt = Date.now();
  }

  async function fill(pool: Pool, n: number): Promise<void> {
    pool.creating += n;
    try {
      const made = await o.withCtx(async (ctx) => {
        await facts(ctx, pool);
        return makePorts(ctx, pool, n);
      });
      await faultPoint('pool-refill');
      for (const port of made) {
        known.set(port.id, port);
        // A nested pool port was made without device_id (a trunk takes no port that has one).
        if (nested) queueOwner(port.id, poolOwner(cluster, node));
        else neutronOwner.set(port.id, ownerText(poolOwner(cluster, node)));
        addReady(pool, port);
      }
      if (pool.refillError) log.info('pool refill works again', { pool: pool.text });
      pool.refillError = undefined;
      log.info('pool refilled', { pool: pool.text, made: made.length, ready: pool.ready.length });
    } catch (e) {
      refillFailed(pool, e);
    } finally {
      pool.creating -= n;
      scheduleRecord();
    }
  }

  /**
   * One bulk request; the ports bound, plugged and claimed by OVN (on a nested node: on the
   * node's trunk, in one more request, and ACTIVE), or deleted again.
   */
  async function makePorts(ctx: NodeContext, pool: Pool, n: number): Promise<Port[]> {
    const neutron = await ctx.neutron();
    const made = await createPoolPorts(neutron, { cluster, node, ...pool.key, count: n, subports: nested });
    metrics.poolCreated.inc({}, made.length);
    try {
      if (nested) return await putOnTrunk(ctx, neutron, made);
      const bound = await Promise.all(
        made.map((p) => (p.vifType === 'binding_failed' ? ensureBound(neutron, p, node) : p)),
      );
      if (preplug()) {
        await plugPoolPorts(
          ctx.plug,
          bound.map((p) => ({ portId: p.id, mac: p.macAddress, networkId: p.networkId })),
        );
        await Promise.all(bound.map((p) => waitOvnClaimed(ctx.plug, p.id, CLAIM_WAIT_MS)));
      }
      return bound;
    } catch (e) {
      await release(
        made.map((p) => p.id),
        undefined,
      );
      throw e;
    }
  }

  function refillFailed(pool: Pool, e: unknown): void {
    const quota = e instanceof NeutronError && e.reason === 'over-quota';
    pool.refillError = quota
      ? `Neutron refused more ports: the project's port quota is used up (${describeError(e)}); ADD makes its own ports until the quota allows more`
      : describeError(e);
    pool.retryAt = Date.now() + (quota ? QUOTA_RETRY_MS : Math.min(QUOTA_RETRY_MS, 5000));
    metrics.poolRefillErrors.inc({ reason: quota ? 'quota' : 'other' });
    metrics.errors.inc({ operation: 'pool' });
    log.warn(quota ? 'pool refill stopped: port quota exceeded' : 'pool refill failed', {
      pool: pool.text,
      retryInMs: pool.retryAt - Date.now(),
      error: pool.refillError,
    });
  }

  /** Puts new pool ports on the node's trunk (one request) and waits until Neutron calls them ACTIVE. */
  async function putOnTrunk(ctx: NodeContext, neutron: NeutronClient, made: Port[]): Promise<Port[]> {
    const trunk = await trunkOf(ctx, neutron);
    const vlans = await addSubports(
      neutron,
      trunk,
      made.map((p) => p.id),
    );
    for (const [portId, vlan] of vlans) subports.set(portId, { trunkId: trunk.id, vlan });
    const ids = made.map((p) => p.id);
    const until = Date.now() + CLAIM_WAIT_MS;
    for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
      const now = await neutron.ports.list({ id: ids });
      if (now.length === ids.length && now.every((p) => p.status === 'ACTIVE')) return now;
      if (Date.now() > until) {
        log.warn('pool subports are not ACTIVE yet; keeping them ready anyway', {
          ports: now.filter((p) => p.status !== 'ACTIVE').map((p) => p.id),
        });
        return made;
      }
      await sleep(delay);
    }
  }

  /** Unplugs and deletes pool ports (success when already gone); a nested node's leave its trunk first. */
  async function release(portIds: string[], netns: string | undefined): Promise<void> {
    if (portIds.length === 0) return;
    try {
      await o.withCtx(async (ctx) => {
        if (netns) for (const id of portIds) await unplug(ctx.plug, { portId: id, netns }, { log });
        else if (!nested) await unplugPoolPorts(ctx.plug, portIds);
        const neutron = await ctx.neutron();
        if (nested) await removeSubports(neutron, await nodeTrunkNow(ctx, neutron), portIds);
        for (const id of portIds) await neutron.ports.ensureDeleted(id);
      });
      for (const id of portIds) {
        subports.delete(id);
        known.delete(id);
        neutronOwner.delete(id);
        owners.delete(id);
      }
      metrics.poolDeleted.inc({}, portIds.length);
      log.info('pool ports deleted', { ports: portIds });
    } catch (e) {
      log.warn('could not delete pool ports; the reconcile tries again', {
        ports: portIds,
        error: describeError(e),
      });
    }
  }

  // ---- Settings, drain, trim, record.

  /**
   * Reads the settings from the cluster's record. Until a read succeeds nothing is drained or
   * deleted: unknown settings are not "off".
   */
  async function readSettings(ctx: NodeContext): Promise<void> {
    const record = await ctx.store.clusters.get(cluster);
    const next = record?.pool && record.pool.max > 0 ? record.pool : undefined;
    if (!settingsKnown || JSON.stringify(next) !== JSON.stringify(settings))
      log.info(next ? 'pool settings' : 'pools are off', { ...(next ?? {}) });
    settings = next;
    settingsKnown = true;
  }

  async function tick(): Promise<void> {
    try {
      await o.withCtx(async (ctx) => {
        await readSettings(ctx);
        if (!settings) return drain();
        await trim();
        if (settings.min > 0) poolOf(await ctx.memo('default pool key', 60_000, () => defaultPoolKey(ctx)));
      });
    } catch (e) {
      log.debug('pool tick failed', { error: describeError(e) });
    }
    // The first time the settings are known: rebuild from Neutron and OVS (after a restart).
    if (settingsKnown && !rebuilt) {
      rebuilt = true;
      await reconcile();
      log.info('pools rebuilt', {
        pools: [...pools.values()].map((p) => ({ pool: p.text, ready: p.ready.length, inUse: p.inUse.size })),
      });
    }
    scheduleRefill(0);
    await record().catch((e: unknown) => log.warn('could not record the pools', { error: describeError(e) }));
  }

  async function drain(): Promise<void> {
    const free = [...pools.values()].flatMap((p) => p.ready.splice(0).map((r) => r.port.id));
    await release(free, undefined);
  }

  async function trim(): Promise<void> {
    if (!settings) return;
    const extra = [...pools.values()].flatMap((p) => p.ready.splice(settings!.max).map((r) => r.port.id));
    await release(extra, undefined);
  }

  function scheduleRecord(): void {
    if (recordPending) return;
    recordPending = true;
    later(1000, () => {
      recordPending = false;
      void track(record()).catch(() => undefined);
    });
  }

  async function record(): Promise<void> {
    updateGauges();
    const now = new Date().toISOString();
    const states: PoolRecord[] = [...pools.values()].map((p) => ({
      networkId: p.key.networkId,
      subnetIds: [...p.key.subnetIds],
      securityGroupIds: [...p.key.securityGroupIds],
      ready: p.ready.length,
      inUse: p.inUse.size,
      target: settings?.min ?? 0,
      max: settings?.max ?? 0,
      ...(p.refillError ? { refillError: p.refillError.slice(0, 1024) } : {}),
      createdAt: p.createdAt,
      updatedAt: now,
    }));
    await o.withCtx((ctx) =>
      ctx.store.nodes.update({ cluster, name: node }, (cur) => {
        if (!cur && states.length === 0) return undefined;
        return { ...cur, cluster, name: node, ports: cur?.ports ?? [], pools: states };
      }),
    );
  }

  function updateGauges(): void {
    for (const p of pools.values()) {
      const labels = { network: p.key.networkId, pool: shortKey(p.text) };
      metrics.poolPorts.set(p.ready.length, { ...labels, state: 'ready' });
      metrics.poolPorts.set(p.inUse.size, { ...labels, state: 'in_use' });
    }
  }

  // ---- Rebuild and reconcile: Neutron (tags) and OVS are the truth, the store says who holds what.

  async function reconcile(): Promise<void> {
    if (!settingsKnown) return; // nothing is adopted or deleted on unknown settings
    try {
      await o.withCtx(async (ctx) => {
        const neutron = await ctx.neutron();
        const [ports, attachments, plugged, trunk] = await Promise.all([
          nodePoolPorts(neutron, cluster, node),
          ctx.store.attachments.list({ node }),
          nested ? [] : listPoolPorts(ctx.plug),
          nested ? nodeTrunkNow(ctx, neutron) : undefined,
        ]);
        const held = new Map(attachments.filter((a) => a.pool).map((a) => [a.portId, a]));
        if (trunk) noteSubports(trunk, ports);
        await forgetVanished(ctx, ports, plugged);
        for (const port of ports) await settle(ctx, port, held.get(port.id));
      });
    } catch (e) {
      metrics.errors.inc({ operation: 'pool' });
      log.warn('pool reconcile failed', { error: describeError(e) });
    }
    scheduleRecord();
  }

  /** The node's trunk as Neutron has it now (which subports it carries). */
  async function nodeTrunkNow(ctx: NodeContext, neutron: NeutronClient): Promise<Trunk> {
    return neutron.trunks.get((await trunkOf(ctx, neutron)).id);
  }

  /** What the trunk says of the pool ports: which ride it, on which VLAN (the others do not). */
  function noteSubports(trunk: Trunk, ports: readonly Port[]): void {
    const on = new Map(trunk.subPorts.map((s) => [s.portId, s.segmentationId]));
    // A refill in flight may have joined its ports after this trunk was read.
    const joining = [...pools.values()].some((p) => p.creating > 0);
    for (const p of ports) {
      const vlan = on.get(p.id);
      if (vlan !== undefined) subports.set(p.id, { trunkId: trunk.id, vlan });
      else if (!joining) subports.delete(p.id);
    }
  }

  /** Ready ports Neutron no longer has (deleted behind the agent's back), and their OVS ports. */
  async function forgetVanished(
    ctx: NodeContext,
    ports: Port[],
    plugged: { ifaceId: string | undefined }[],
  ): Promise<void> {
    const alive = new Set(ports.map((p) => p.id));
    // A nested pool port taken off the trunk behind the agent's back is nobody's (settle deletes it).
    const usable = (id: string) => alive.has(id) && (!nested || subports.has(id));
    for (const pool of pools.values()) pool.ready = pool.ready.filter((r) => usable(r.port.id));
    const orphans = plugged.flatMap((p) => (p.ifaceId && !alive.has(p.ifaceId) ? [p.ifaceId] : []));
    if (orphans.length > 0) {
      await unplugPoolPorts(ctx.plug, orphans);
      log.info('removed pool ports whose Neutron port is gone', { ports: orphans });
    }
  }

  /** One pool port: held (its owner corrected), ready, in flight, or nobody's (adopted or deleted). */
  async function settle(ctx: NodeContext, port: Port, a: Attachment | undefined): Promise<void> {
    known.set(port.id, port);
    const pool = poolOf(poolKeyOfPort(port));
    if (a) {
      pool.inUse.add(port.id);
      syncOwner(port, heldOwner({ cluster, namespace: a.namespace, pod: a.pod }, a.containerId, node));
      return;
    }
    if (pool.ready.some((r) => r.port.id === port.id)) return syncOwner(port, poolOwner(cluster, node));
    if (pool.inUse.has(port.id)) return; // an ADD or DEL of it is running
    // A refill in flight: its ports are in Neutron (and on OVS) before the refill lists them as
    // ready, and look like nobody's. The next reconcile decides about the rest.
    if (pool.creating > 0) return;
    // Nobody's and not on the trunk (a refill stopped between its two requests): deleted too.
    if (
      !settings ||
      pool.ready.length + pool.creating >= settings.max ||
      (nested && !subports.has(port.id))
    ) {
      await release([port.id], undefined);
      return;
    }
    await facts(ctx, pool);
    if (preplug()) {
      await plugPoolPorts(ctx.plug, [{ portId: port.id, mac: port.macAddress, networkId: port.networkId }]);
    }
    addReady(pool, port);
    syncOwner(port, poolOwner(cluster, node));
  }

  return {
    ...pools_,
    async start() {
      await tick();
      const loop = () =>
        later(o.tickMs ?? 5000, () => {
          void track(tick()).finally(loop);
        });
      loop();
    },
    reconcile,
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.allSettled([...running]);
    },
  };
}

/** A short, stable label for a pool key (its subnets and groups hashed). */
function shortKey(text: string): string {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return (h >>> 0).toString(16).padStart(8, '0');
}
