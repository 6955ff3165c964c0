/**
 * The agent's Prometheus metrics and their text exposition (format 0.0.4), without a library:
 * counters, gauges and one histogram, with labels.
 *
 *   const m = createMetrics();
 *   m.replugs.inc();
 *   m.render(); // "# HELP nnet_replugs_total …\n# TYPE nnet_replugs_total counter\nnnet_replugs_total 1\n…"
 */
import { RECONCILE_KINDS } from './plan.ts';

export type Labels = Record<string, string>;

interface Family {
  render(): string;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`;
}

function num(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return Number.isNaN(v) ? 'NaN' : String(v);
}

function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
}

export interface Counter extends Family {
  inc(labels?: Labels, by?: number): void;
  get(labels?: Labels): number;
}

export interface Gauge extends Family {
  set(value: number, labels?: Labels): void;
  get(labels?: Labels): number;
}

export interface Histogram extends Family {
  observe(value: number, labels?: Labels): void;
  count(labels?: Labels): number;
}

function series<T>(): { at(labels: Labels, init: () => T): T; entries(): [string, T][] } {
  const m = new Map<string, T>();
  return {
    at(labels, init) {
      const k = labelText(labels);
      let v = m.get(k);
      if (v === undefined) {
        v = init();
        m.set(k, v);
      }
      return v;
    },
    entries: () => [...m.entries()].sort(([a], [b]) => a.localeCompare(b)),
  };
}

/** A counter; `initial` label sets are shown at 0 before anything happened. */
export function counter(name: string, help: string, initial: Labels[] = []): Counter {
  const s = series<{ v: number }>();
  for (const l of initial) s.at(l, () => ({ v: 0 }));
  return {
    inc(labels = {}, by = 1) {
      if (by < 0) throw new RangeError(`counter ${name} cannot decrease`);
      s.at(labels, () => ({ v: 0 })).v += by;
    },
    get: (labels = {}) => s.at(labels, () => ({ v: 0 })).v,
    render: () =>
      header(name, help, 'counter') +
      s
        .entries()
        .map(([l, c]) => `${name}${l} ${num(c.v)}\n`)
        .join(''),
  };
}

export function gauge(name: string, help: string): Gauge {
  const s = series<{ v: number }>();
  return {
    set(value, labels = {}) {
      s.at(labels, () => ({ v: 0 })).v = value;
    },
    get: (labels = {}) => s.at(labels, () => ({ v: 0 })).v,
    render: () =>
      header(name, help, 'gauge') +
      s
        .entries()
        .map(([l, c]) => `${name}${l} ${num(c.v)}\n`)
        .join(''),
  };
}

export function histogram(name: string, help: string, buckets: readonly number[]): Histogram {
  const bounds = [...buckets].sort((a, b) => a - b);
  type H = { labels: Labels; counts: number[]; sum: number; count: number };
  const s = series<H>();
  const init = (labels: Labels) => () => ({ labels, counts: bounds.map(() => 0), sum: 0, count: 0 });
  return {
    observe(value, labels = {}) {
      const h = s.at(labels, init(labels));
      bounds.forEach((b, i) => {
        if (value <= b) h.counts[i]! += 1;
      });
      h.sum += value;
      h.count += 1;
    },
    count: (labels = {}) => s.at(labels, init(labels)).count,
    render: () =>
      header(name, help, 'histogram') +
      s
        .entries()
        .map(([, h]) => {
          const lines = bounds.map(
            (b, i) => `${name}_bucket${labelText({ ...h.labels, le: num(b) })} ${h.counts[i]}\n`,
          );
          lines.push(`${name}_bucket${labelText({ ...h.labels, le: '+Inf' })} ${h.count}\n`);
          lines.push(`${name}_sum${labelText(h.labels)} ${num(h.sum)}\n`);
          lines.push(`${name}_count${labelText(h.labels)} ${h.count}\n`);
          return lines.join('');
        })
        .join(''),
  };
}

export const ERROR_OPERATIONS = ['watch', 'replug', 'reconcile', 'pool'] as const;
export type ErrorOperation = (typeof ERROR_OPERATIONS)[number];

export interface AgentMetrics {
  /** CNI requests the agent served (command, result = ok | error | not-ready). */
  cniDuration: Histogram;
  /** Attachments of this node in the store, as of the last look. */
  attachments: Gauge;
  /** What reconciles released or removed, by kind. */
  reconcileActions: Counter;
  reconciles: Counter;
  reconcileDuration: Histogram;
  /** NICs restored after ovs-vswitchd recreated their device. */
  replugs: Counter;
  /** Failures, by the agent's operation. */
  errors: Counter;
  /** Each pool's ports, by state (ready, in_use). */
  poolPorts: Gauge;
  /** ADDs that took a ready pool port / found none (and made their own). */
  poolHits: Counter;
  poolMisses: Counter;
  /** Pool ports made (bulk), given back by DELs, deleted (over max, drained, lost). */
  poolCreated: Counter;
  poolRecycled: Counter;
  poolDeleted: Counter;
  /** Failed refills, by reason (quota, other). */
  poolRefillErrors: Counter;
  /** Background updates of pool ports' name, device_id and tags, by result. */
  poolOwnerUpdates: Counter;
  render(): string;
}

export const CNI_BUCKETS_S = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;
export const RECONCILE_BUCKETS_S = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] as const;

export function createMetrics(): AgentMetrics {
  const m = {
    cniDuration: histogram(
      'nnet_cni_operation_duration_seconds',
      'Duration of the CNI requests nnet-agent served, by command and result.',
      CNI_BUCKETS_S,
    ),
    attachments: gauge('nnet_attachments', 'Attachments (pod interfaces) recorded for this node.'),
    reconcileActions: counter(
      'nnet_reconcile_actions_total',
      'Leftovers released or removed by reconciles, by kind.',
      RECONCILE_KINDS.map((kind) => ({ kind })),
    ),
    reconciles: counter('nnet_reconciles_total', 'Reconciles run, by result.', [
      { result: 'ok' },
      { result: 'error' },
    ]),
    reconcileDuration: histogram(
      'nnet_reconcile_duration_seconds',
      "Duration of the node's reconciles (sweep, node ports, pools).",
      RECONCILE_BUCKETS_S,
    ),
    replugs: counter(
      'nnet_replugs_total',
      "Pod NICs, and the node's own ports, re-plugged after ovs-vswitchd recreated their device.",
      [{}],
    ),
    errors: counter(
      'nnet_errors_total',
      'Agent failures, by operation.',
      ERROR_OPERATIONS.map((operation) => ({ operation })),
    ),
  };
  const pools = {
    poolPorts: gauge('nnet_pool_ports', 'Ports of each warm pool of this node, by state (ready, in_use).'),
    poolHits: counter('nnet_pool_hits_total', 'ADDs that took a ready port from a pool.', [{}]),
    poolMisses: counter('nnet_pool_misses_total', 'ADDs that found their pool empty and made a port.', [{}]),
    poolCreated: counter('nnet_pool_ports_created_total', 'Pool ports made by refills (bulk requests).', [
      {},
    ]),
    poolRecycled: counter('nnet_pool_ports_recycled_total', 'Pool ports given back to their pool by DEL.', [
      {},
    ]),
    poolDeleted: counter('nnet_pool_ports_deleted_total', 'Pool ports deleted (beyond max, drained, lost).', [
      {},
    ]),
    poolRefillErrors: counter('nnet_pool_refill_errors_total', 'Failed pool refills, by reason.', [
      { reason: 'quota' },
      { reason: 'other' },
    ]),
    poolOwnerUpdates: counter(
      'nnet_pool_owner_updates_total',
      "Background updates of pool ports' name, device_id and tags (who holds them), by result.",
      [{ result: 'ok' }, { result: 'error' }],
    ),
  };
  m.attachments.set(0);
  return {
    ...m,
    ...pools,
    render: () =>
      [
        m.cniDuration,
        m.attachments,
        m.reconcileActions,
        m.reconciles,
        m.reconcileDuration,
        m.replugs,
        m.errors,
        ...Object.values(pools),
      ]
        .map((f) => f.render())
        .join(''),
  };
}
