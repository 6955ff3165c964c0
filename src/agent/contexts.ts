/**
 * The agent's warm node contexts: one per distinct node config (the fields of NodeSettings, not
 * the per-request ones such as runtimeConfig or prevResult), opened on first use and kept, so a
 * CNI request finds the store connected, the Keystone token at hand and keep-alive HTTP to
 * Neutron. The agent's own config is pinned; any other (a test's odd store, say) is closed after
 * it has been idle a while, and at most a few are kept. A context that fails to open is not
 * kept: the next request tries again.
 *
 *   const contexts = createNodeContexts({ log, neutronConcurrency: 4 });
 *   await contexts.run(conf, { log, signal }, (ctx) => attach(ctx, req));
 */
import type { NetConf } from '../cni/index.ts';
import type { Logger } from '../log/index.ts';
import {
  createAttachmentLocks,
  type NodeContext,
  type NodeHandle,
  openNodeContext,
} from '../network/index.ts';
import { createRequestQueue, type RequestPriority, type RequestQueue } from '../neutron/index.ts';

export interface NodeContexts {
  /** Runs `fn` on the warm context of `conf`'s node, as one request (its log, its deadline). */
  run<T>(
    conf: NetConf,
    req: { log: Logger; signal?: AbortSignal | undefined; priority?: RequestPriority },
    fn: (ctx: NodeContext) => Promise<T>,
  ): Promise<T>;
  /** The warm handle of `conf`'s node (opened when missing). */
  handle(conf: NetConf): Promise<WarmNode>;
  /** Closes every context (their stores); later calls fail. */
  close(): Promise<void>;
}

export interface WarmNode {
  key: string;
  handle: NodeHandle;
  /** Every Neutron request of this node waits its turn here (one queue for all its contexts). */
  queue: RequestQueue;
}

export interface NodeContextsOptions {
  log: Logger;
  /** Neutron requests in flight for the node, all its contexts together (default 4), of which background work takes at most half. */
  neutronConcurrency?: number;
  /** The agent's own config: never closed for being idle. */
  pinned?: NetConf;
  /** Contexts kept besides the pinned one (default 4). */
  maxOthers?: number;
  /** An unpinned context idle this long is closed (default 10 min). */
  idleMs?: number;
  /** Called with each context as it opens (the agent gives its own node's the port pools). */
  onOpen?: (conf: NetConf, handle: NodeHandle) => void;
}

/** What makes two configs the same node: everything a NodeContext is built from. */
export function nodeKey(conf: NetConf): string {
  const { keystoneMs, neutronMs, storeMs, ovsdbMs } = conf.timeouts;
  return JSON.stringify([
    conf.store.url,
    conf.cluster,
    conf.nodeName,
    conf.credentials ?? null,
    conf.network ?? null,
    conf.subnet ?? null,
    conf.plugDriver,
    conf.nested ?? null,
    conf.bridge,
    conf.datapathType,
    conf.ovsdbSocket,
    conf.ovsNetns ?? null,
    conf.mtu ?? null,
    conf.serviceCidrs ?? null,
    conf.tokenCacheDir,
    [keystoneMs, neutronMs ?? null, storeMs, ovsdbMs],
  ]);
}

interface Entry {
  node: Promise<WarmNode>;
  lastUsed: number;
  users: number;
}

export function createNodeContexts(o: NodeContextsOptions): NodeContexts {
  const concurrency = o.neutronConcurrency ?? 4;
  const entries = new Map<string, Entry>();
  const pinnedKey = o.pinned ? nodeKey(o.pinned) : undefined;
  // One NIC is one NIC whichever config a command came with: the agent's re-plug (its own
  // config) and a DEL sent with another config must not run on it at once.
  const locks = createAttachmentLocks();
  // One bounded Neutron queue for the node, whichever config a command came with: N contexts must
  // not mean N times the requests in flight at Neutron.
  const queue = createRequestQueue({ concurrency, backgroundConcurrency: Math.max(1, concurrency >> 1) });
  const idleMs = o.idleMs ?? 10 * 60_000;
  let closed = false;

  const open = (conf: NetConf, key: string): Entry => {
    const node = openNodeContext(conf, o.log.child({ node: conf.nodeName }), { queue, locks }).then(
      (handle) => {
        o.onOpen?.(conf, handle);
        return { key, handle, queue };
      },
    );
    const entry: Entry = { node, lastUsed: Date.now(), users: 0 };
    node.catch(() => {
      if (entries.get(key) === entry) entries.delete(key);
    });
    return entry;
  };

  /** Closes unpinned contexts that are idle, and the least recently used beyond maxOthers. */
  const evict = () => {
    const others = [...entries.entries()].filter(([k, e]) => k !== pinnedKey && e.users === 0);
    others.sort(([, a], [, b]) => a.lastUsed - b.lastUsed);
    const excess = Math.max(0, others.length - (o.maxOthers ?? 4));
    others.forEach(([k, e], i) => {
      if (i < excess || Date.now() - e.lastUsed > idleMs) {
        entries.delete(k);
        void e.node.then((n) => n.handle.close()).catch(() => undefined);
      }
    });
  };

  const entryOf = (conf: NetConf): Entry => {
    if (closed) throw new Error('the agent is stopping');
    const key = nodeKey(conf);
    let e = entries.get(key);
    if (!e) {
      e = open(conf, key);
      entries.set(key, e);
      evict();
    }
    e.lastUsed = Date.now();
    return e;
  };

  return {
    async run(conf, req, fn) {
      const e = entryOf(conf);
      e.users += 1;
      try {
        const { handle } = await e.node;
        return await fn(handle.context(req));
      } finally {
        e.users -= 1;
        e.lastUsed = Date.now();
      }
    },
    handle: (conf) => entryOf(conf).node,
    async close() {
      closed = true;
      const all = [...entries.values()];
      entries.clear();
      await Promise.all(all.map((e) => e.node.then((n) => n.handle.close()).catch(() => undefined)));
    },
  };
}
