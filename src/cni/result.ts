/**
 * Building and encoding CNI results. Verbs build a canonical CniResult from plain data
 * (`attachmentResult`), optionally merge a chained `prevResult` into it, and main.ts encodes it for
 * the config's cniVersion: 1.1.0 as is; 1.0.0 without the 1.1-only fields (interface mtu,
 * socketPath, pciID, route mtu/advmss/priority/table/scope); 0.4.0 like 1.0.0 plus each IP's
 * "version". Encoding validates the result and throws a plain Error (CNI code 100) on nonsense,
 * so a spec-invalid result never reaches the runtime.
 *
 *   const r = attachmentResult({ ifname: 'eth0', mac: 'fa:16:3e:00:00:01', mtu: 1450,
 *     sandbox: '/run/netns/p1', addresses: [{ ip: '1.2.0.100', prefixLength: 16, gateway: '1.2.0.1' }],
 *     routes: [{ dst: '0.0.0.0/0', gw: '1.2.0.1' }] });
 *   JSON.stringify(encodeResult(r, '1.0.0'));
 */
import { parseIfaceAddress, parseIp, parseMac } from '../resources/index.ts';
import {
  type CniDns,
  type CniInterface,
  type CniIpConfig,
  type CniResult,
  type CniVersion,
  ifnameProblem,
} from './spec.ts';

// ---- Building.

export interface AttachmentData {
  /** CNI_IFNAME. */
  ifname: string;
  mac: string;
  mtu?: number;
  /** CNI_NETNS. */
  sandbox: string;
  addresses: { ip: string; prefixLength: number; gateway?: string }[];
  routes?: { dst: string; gw?: string }[];
  dns?: CniDns;
}

/** The result for one pod interface: every address and route applies to interface 0. */
export function attachmentResult(d: AttachmentData): CniResult {
  const iface: CniInterface = { name: d.ifname, mac: d.mac.toLowerCase(), sandbox: d.sandbox };
  if (d.mtu !== undefined) iface.mtu = d.mtu;
  return {
    interfaces: [iface],
    ips: d.addresses.map((a) => {
      const ip: CniIpConfig = { address: `${a.ip}/${a.prefixLength}`, interface: 0 };
      if (a.gateway !== undefined) ip.gateway = a.gateway;
      return ip;
    }),
    routes: (d.routes ?? []).map((r) => (r.gw === undefined ? { dst: r.dst } : { dst: r.dst, gw: r.gw })),
    dns: d.dns ?? {},
  };
}

/**
 * A chained ADD must pass on what earlier plugins returned: their interfaces come first, ours are
 * appended and our IPs' interface indexes shifted; routes are concatenated; our DNS wins where set.
 */
export function mergeWithPrevResult(prev: CniResult | undefined, ours: CniResult): CniResult {
  if (!prev) return ours;
  const offset = prev.interfaces.length;
  return {
    interfaces: [...prev.interfaces, ...ours.interfaces],
    ips: [
      ...prev.ips,
      ...ours.ips.map((ip) =>
        ip.interface === undefined ? ip : { ...ip, interface: ip.interface + offset },
      ),
    ],
    routes: [...prev.routes, ...ours.routes],
    dns: { ...prev.dns, ...ours.dns },
  };
}

// ---- Validation.

const address = (text: string) => {
  const p = parseIp(text);
  return p.ok ? p.value : undefined;
};
const ifaceAddress = (text: string) => {
  const p = parseIfaceAddress(text);
  return p.ok ? p.value : undefined;
};

function isUint(n: unknown, max = 0xffffffff): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max;
}
function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/** Every way `r` breaks the spec's result rules; empty when it is valid. */
export function resultProblems(r: CniResult): string[] {
  const p: string[] = [];
  r.interfaces.forEach((i, n) => {
    const bad = typeof i.name === 'string' ? ifnameProblem(i.name) : 'is not a string';
    if (bad) p.push(`interfaces[${n}].name ${bad}`);
    if (i.mac !== undefined && (typeof i.mac !== 'string' || !parseMac(i.mac).ok))
      p.push(`interfaces[${n}].mac is not a MAC address`);
    if (i.mtu !== undefined && !(isUint(i.mtu, 65535) && i.mtu > 0))
      p.push(`interfaces[${n}].mtu is out of range`);
    for (const k of ['sandbox', 'socketPath', 'pciID'] as const)
      if (i[k] !== undefined && typeof i[k] !== 'string') p.push(`interfaces[${n}].${k} is not a string`);
  });
  r.ips.forEach((ip, n) => {
    const cidr = typeof ip.address === 'string' ? ifaceAddress(ip.address) : undefined;
    if (!cidr) p.push(`ips[${n}].address is not an address in CIDR notation`);
    if (ip.gateway !== undefined) {
      const gw = typeof ip.gateway === 'string' ? address(ip.gateway) : undefined;
      if (!gw || (cidr && gw.family !== cidr.ip.family))
        p.push(`ips[${n}].gateway is not an address of the same family`);
    }
    if (ip.interface !== undefined && !(isUint(ip.interface) && ip.interface < r.interfaces.length))
      p.push(`ips[${n}].interface is not an index into interfaces`);
  });
  r.routes.forEach((rt, n) => {
    const dst = typeof rt.dst === 'string' ? ifaceAddress(rt.dst) : undefined;
    if (!dst) p.push(`routes[${n}].dst is not a CIDR`);
    if (rt.gw !== undefined) {
      const gw = typeof rt.gw === 'string' ? address(rt.gw) : undefined;
      if (!gw || (dst && gw.family !== dst.ip.family))
        p.push(`routes[${n}].gw is not an address of the same family`);
    }
    for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const)
      if (rt[k] !== undefined && !isUint(rt[k])) p.push(`routes[${n}].${k} is not an unsigned integer`);
  });
  const dns = r.dns;
  for (const k of ['nameservers', 'search', 'options'] as const)
    if (dns[k] !== undefined && !isStringArray(dns[k])) p.push(`dns.${k} is not a list of strings`);
  if (dns.nameservers?.some((s) => typeof s === 'string' && !address(s)))
    p.push('dns.nameservers holds something that is not an IP address');
  if (dns.domain !== undefined && typeof dns.domain !== 'string') p.push('dns.domain is not a string');
  return p;
}

// ---- Encoding.

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

const IFACE_1_1 = ['name', 'mac', 'mtu', 'sandbox', 'socketPath', 'pciID'] as const;
const IFACE_OLD = ['name', 'mac', 'sandbox'] as const;
const ROUTE_1_1 = ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope'] as const;
const ROUTE_OLD = ['dst', 'gw'] as const;
const DNS_KEYS = ['nameservers', 'domain', 'search', 'options'] as const;

/**
 * The wire form of `r` for `version`. Optional members are omitted rather than sent empty
 * (interfaces and routes only when non-empty, dns only when it says something).
 */
export function encodeResult(r: CniResult, version: CniVersion): Record<string, unknown> {
  const problems = resultProblems(r);
  if (problems.length > 0) throw new Error(`invalid CNI result: ${problems.join('; ')}`);
  const latest = version === '1.1.0';
  const out: Record<string, unknown> = { cniVersion: version };
  if (r.interfaces.length > 0)
    out.interfaces = r.interfaces.map((i) => pick(i, latest ? IFACE_1_1 : IFACE_OLD));
  out.ips = r.ips.map((ip) => {
    const o: Record<string, unknown> = {};
    if (version === '0.4.0') o.version = ifaceAddress(ip.address)!.ip.family === 4 ? '4' : '6';
    return Object.assign(o, pick(ip, ['address', 'gateway', 'interface'] as const));
  });
  if (r.routes.length > 0) out.routes = r.routes.map((rt) => pick(rt, latest ? ROUTE_1_1 : ROUTE_OLD));
  const dns = pick(r.dns, DNS_KEYS);
  if (Object.keys(dns).length > 0) out.dns = dns;
  return out;
}
