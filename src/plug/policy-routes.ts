/**
 * Policy routes for a node that has an address of its own on a pod network besides its node port
 * (a VM's second NIC on the pods' network, say). The node port's connected route and that NIC's
 * cover the same subnet, and the kernel takes whichever it lists first: the node's probes and the
 * Service flows it forwards could leave by the NIC (unmasqueraded, from an address the pods do not
 * admit as a node's), or the NIC's replies by the node port (and be lost). So N-Net adds rules of
 * its own, each to a table of its own with one route: `from ADDRESS` through that address's
 * device, then `to SUBNET` through the node port. It touches neither that device nor the main
 * table, and removes its rules when no node port shares the subnet any more.
 */
import { PlugError } from '../errors/index.ts';
import { canonicalCidr, cidrsOverlap, parseCidr } from '../resources/index.ts';
import { listHostAddresses } from './links.ts';
import { type NetnsPath, netnsLabel, nsExec } from './netns.ts';

/** N-Net's rules' priorities: after `local` (0), before `main` (32766); "from" rules first. */
export const SOURCE_RULE_PRIORITY = 31_000;
export const NODE_PORT_RULE_PRIORITY = 31_001;
/** N-Net's tables: this one and the next ones, one per rule ("nn" in hex, far from the usual 1–255). */
export const SOURCE_TABLE_BASE = 0x6e6e_0000;
const NODE_DEVICE = /^nnh/;

export interface PolicyRoute {
  family: 4 | 6;
  /** `from ADDRESS` (the node's address that is not a node port's), or `to SUBNET` (a node port's). */
  rule: { from: string } | { to: string };
  /** The table's one route: the subnet through that address's device, from that address. */
  dst: string;
  device: string;
  src: string;
  table: number;
}

type HostAddress = { device: string; family: 4 | 6; address: string; prefixLength: number };

const prefixOf = (a: HostAddress) => canonicalCidr(`${a.address}/${a.prefixLength}`) ?? '';
const global = (a: HostAddress) => a.device !== 'lo' && !/^fe80:/i.test(a.address);
const priorityOf = (r: PolicyRoute) => ('from' in r.rule ? SOURCE_RULE_PRIORITY : NODE_PORT_RULE_PRIORITY);
const selectorOf = (r: Pick<PolicyRoute, 'rule'>) =>
  'from' in r.rule ? `from ${r.rule.from}` : `to ${r.rule.to}`;

/**
 * The rules the node's addresses call for (pure: from `ip addr`'s view). Only where a node port
 * shares a subnet with another address of the node: traffic from that address leaves by its own
 * device, and all other traffic to the node port's subnet by the node port, whichever of the two
 * connected routes the kernel lists first.
 */
export function policyRoutes(addrs: readonly HostAddress[]): PolicyRoute[] {
  const nodePorts = addrs.filter((a) => NODE_DEVICE.test(a.device) && global(a));
  const overlaps = (a: HostAddress, b: HostAddress) => {
    const [x, y] = [parseCidr(prefixOf(a)), parseCidr(prefixOf(b))];
    return a.family === b.family && x.ok && y.ok && cidrsOverlap(x.value, y.value);
  };
  const byAddress = (a: HostAddress, b: HostAddress) =>
    a.family - b.family || a.address.localeCompare(b.address);
  const others = addrs
    .filter((a) => !NODE_DEVICE.test(a.device) && global(a))
    .filter((a) => nodePorts.some((n) => overlaps(a, n)))
    .sort(byAddress);
  const shared = nodePorts.filter((n) => others.some((a) => overlaps(a, n))).sort(byAddress);
  const routes = [
    ...others.map((a) => ({
      family: a.family,
      rule: { from: a.address },
      device: a.device,
      src: a.address,
      dst: prefixOf(a),
    })),
    ...shared.map((n) => ({
      family: n.family,
      rule: { to: prefixOf(n) },
      device: n.device,
      src: n.address,
      dst: prefixOf(n),
    })),
  ];
  return routes.map((r, i) => ({ ...r, table: SOURCE_TABLE_BASE + i }));
}

interface Rule {
  family: 4 | 6;
  priority: number;
  selector: string;
  table: number;
}

async function ip(ns: NetnsPath, args: string[]): Promise<string> {
  const r = await nsExec(ns, ['ip', ...args]);
  if (r.code !== 0)
    throw new PlugError('link', `ip ${args.join(' ')} in ${netnsLabel(ns)}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** N-Net's rules in the netns (its priorities). */
async function ourRules(ns: NetnsPath): Promise<Rule[]> {
  const out: Rule[] = [];
  for (const family of [4, 6] as const)
    for (const priority of [SOURCE_RULE_PRIORITY, NODE_PORT_RULE_PRIORITY]) {
      const text = await ip(ns, [`-${family}`, '-j', 'rule', 'show', 'priority', String(priority)]);
      type Row = { src?: string; srclen?: number; dst?: string; dstlen?: number; table?: string | number };
      for (const r of JSON.parse(text || '[]') as Row[]) {
        if (r.table === undefined) continue;
        const selector = r.src
          ? `from ${r.src}${r.srclen !== undefined && r.srclen !== (family === 4 ? 32 : 128) ? `/${r.srclen}` : ''}`
          : r.dst
            ? `to ${canonicalCidr(`${r.dst}/${r.dstlen ?? (family === 4 ? 32 : 128)}`) ?? r.dst}`
            : '';
        out.push({ family, priority, selector, table: Number(r.table) });
      }
    }
  return out;
}

/** Empties one of N-Net's tables (an empty one is fine). */
async function flushTable(ns: NetnsPath, family: 4 | 6, table: number): Promise<void> {
  await nsExec(ns, ['ip', `-${family}`, 'route', 'flush', 'table', String(table)]);
}

/** Brings N-Net's rules and tables in line with the node's addresses now. Idempotent. */
export async function ensurePolicyRoutes(ns: NetnsPath): Promise<void> {
  const wanted = policyRoutes(await listHostAddresses(ns));
  const have = await ourRules(ns);
  const same = (r: Rule, w: PolicyRoute) =>
    r.family === w.family &&
    r.priority === priorityOf(w) &&
    r.selector === selectorOf(w) &&
    r.table === w.table;
  for (const r of have) {
    if (wanted.some((w) => same(r, w))) continue;
    const [kind, what] = r.selector.split(' ');
    await ip(ns, [
      `-${r.family}`,
      'rule',
      'del',
      'priority',
      String(r.priority),
      ...(what ? [kind!, what] : []),
      'table',
      String(r.table),
    ]);
    await flushTable(ns, r.family, r.table);
  }
  for (const w of wanted) {
    const table = String(w.table);
    const fresh = !have.some((r) => same(r, w));
    if (fresh) await flushTable(ns, w.family, w.table); // what another rule left in it
    await ip(ns, [`-${w.family}`, 'route', 'replace', w.dst, 'dev', w.device, 'src', w.src, 'table', table]);
    if (fresh)
      await ip(ns, [
        `-${w.family}`,
        'rule',
        'add',
        'priority',
        String(priorityOf(w)),
        ...selectorOf(w).split(' '),
        'table',
        table,
      ]);
  }
}
