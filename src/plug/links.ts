/** Reading links, addresses and routes (parsed from `ip -j -d` output) in a namespace. */
import { ipJsonBatch, type NetnsPath } from './netns.ts';

export interface LinkInfo {
  name: string;
  ifindex: number;
  mac: string;
  mtu: number;
  up: boolean; // administratively up
  carrier: boolean; // LOWER_UP
  kind: string | undefined; // 'veth' | 'bridge' | 'tun' | …
  master: string | undefined;
  alias: string | undefined;
  /** An 802.1Q device's VLAN ID. */
  vlanId?: number | undefined;
}

export interface AddrInfo {
  family: 4 | 6;
  address: string;
  prefixLength: number;
}

export interface RouteInfo {
  dst: string; // 'default' or a CIDR
  gateway: string | undefined;
  dev: string | undefined;
}

type Json = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number => (typeof v === 'number' ? v : -1);

export function parseLink(j: Json): LinkInfo {
  const flags = Array.isArray(j.flags) ? (j.flags as unknown[]) : [];
  const linkinfo = (j.linkinfo ?? {}) as Json;
  return {
    name: str(j.ifname) ?? '',
    ifindex: num(j.ifindex),
    mac: (str(j.address) ?? '').toLowerCase(),
    mtu: num(j.mtu),
    up: flags.includes('UP'),
    carrier: flags.includes('LOWER_UP'),
    kind: str(linkinfo.info_kind),
    master: str(j.master),
    alias: str(j.ifalias),
    vlanId:
      str(linkinfo.info_kind) === 'vlan' && typeof (linkinfo.info_data as Json | undefined)?.id === 'number'
        ? ((linkinfo.info_data as Json).id as number)
        : undefined,
  };
}

export function parseAddrs(j: Json): AddrInfo[] {
  const infos = Array.isArray(j.addr_info) ? (j.addr_info as Json[]) : [];
  const out: AddrInfo[] = [];
  for (const a of infos) {
    const fam = a.family === 'inet' ? 4 : a.family === 'inet6' ? 6 : undefined;
    const local = str(a.local);
    if (fam && local) out.push({ family: fam, address: local, prefixLength: num(a.prefixlen) });
  }
  return out;
}

export function parseRoute(j: Json): RouteInfo {
  return { dst: str(j.dst) ?? 'default', gateway: str(j.gateway), dev: str(j.dev) };
}

/** Every address of a namespace with the device that holds it (one process). */
export async function listHostAddresses(
  ns: NetnsPath,
): Promise<{ device: string; family: 4 | 6; address: string; prefixLength: number }[]> {
  const [links] = await ipJsonBatch(ns, [['addr', 'show']]);
  return (links ?? []).flatMap((l) => {
    const device = str((l as Json).ifname) ?? '';
    return parseAddrs(l as Json).map((a) => ({ device, ...a }));
  });
}

/** All links of a namespace (one process). */
export async function listLinks(ns: NetnsPath): Promise<LinkInfo[]> {
  const [links] = await ipJsonBatch(ns, [['link', 'show']]);
  return (links ?? []).map((l) => parseLink(l as Json));
}

export interface DeviceState {
  link: LinkInfo;
  addrs: AddrInfo[];
  routes: RouteInfo[]; // IPv4 and IPv6 routes through the device (main table)
}

/** One device's link, addresses and routes (one process); undefined when the device does not exist. */
export async function readDevice(ns: NetnsPath, dev: string): Promise<DeviceState | undefined> {
  // `addr show` carries the link's fields too (a `link show` earlier in the same batch would make
  // iproute2 6.1 drop the addresses). `table all` is the one batch-able way to list IPv4 and IPv6
  // routes together (a batch line cannot carry -4/-6); keep the main table's unicast routes.
  const [addr, rts] = await ipJsonBatch(ns, [
    ['addr', 'show', 'dev', dev],
    ['route', 'show', 'table', 'all', 'dev', dev],
  ]);
  const a = addr?.[0] as Json | undefined;
  if (!a) return undefined;
  const routes = (rts ?? [])
    .map((r) => r as Json)
    .filter(
      (r) => (r.table === undefined || r.table === 'main') && (r.type === undefined || r.type === 'unicast'),
    )
    .map((r) => ({ ...parseRoute(r), dev }));
  return { link: parseLink(a), addrs: parseAddrs(a), routes };
}
