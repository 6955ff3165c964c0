/**
 * IP addresses, CIDRs, MAC addresses and Neutron ids as N-Net reads them, in one place: the CLI,
 * the CNI edge, the plug drivers and the store all parse with these. Pure; no I/O.
 *
 *   parseIp('fd00:1:0::100')          // { ok: true, value: { text: 'fd00:1::100', family: 6, … } }
 *   parseCidr('1.2.0.0/16')           // { ok: true, value: { cidr: '1.2.0.0/16', family: 4, … } }
 *   checkHostAddress(ip, cidr)        // 'is the network address of 1.2.0.0/16' | undefined
 */
import ipaddr from 'ipaddr.js';

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

export type IpFamily = 4 | 6;

export interface Ip {
  /** Canonical text: dotted quad, or RFC 5952 for IPv6. */
  text: string;
  family: IpFamily;
  addr: ipaddr.IPv4 | ipaddr.IPv6;
}

export interface Cidr {
  /** Canonical network form, e.g. 1.2.0.0/16 or fd00:1::/64. */
  cidr: string;
  family: IpFamily;
  prefix: number;
  network: ipaddr.IPv4 | ipaddr.IPv6;
}

/** An interface address: an IP with the prefix length of its subnet (host bits set). */
export interface IfaceAddress {
  ip: Ip;
  prefix: number;
  /** `ADDRESS/PREFIX`, canonical. */
  text: string;
}

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = <T>(reason: string): Checked<T> => ({ ok: false, reason });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A Neutron (or Keystone-style dashed) UUID. */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}

function canonical(addr: ipaddr.IPv4 | ipaddr.IPv6): string {
  return addr.kind() === 'ipv6' ? (addr as ipaddr.IPv6).toRFC5952String() : addr.toString();
}

/** A plain IPv4 (four decimal parts, no leading zeros) or IPv6 address without zone. */
export function parseIp(text: string): Checked<Ip> {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    const addr = ipaddr.IPv4.parse(text);
    return ok({ text: canonical(addr), family: 4, addr });
  }
  if (text.includes(':') && !text.includes('%') && ipaddr.IPv6.isValid(text)) {
    const addr = ipaddr.IPv6.parse(text);
    return ok({ text: canonical(addr), family: 6, addr });
  }
  return bad(text.includes(':') ? 'not a valid IPv6 address' : 'not a valid IP address');
}

/** The canonical text of an address, or undefined when it is not one. */
export function canonicalIp(text: string): string | undefined {
  const p = parseIp(text);
  return p.ok ? p.value.text : undefined;
}

/** 4 or 6; throws on text that is not an address (for values already validated). */
export function ipFamily(text: string): IpFamily {
  const p = parseIp(text);
  if (!p.ok) throw new Error(`"${text}" is not an IP address`);
  return p.value.family;
}

function parsePrefixed(text: string): Checked<{ ip: Ip; prefix: number }> {
  const slash = text.indexOf('/');
  const usage = 'not a CIDR (expected ADDRESS/PREFIX, e.g. 1.2.0.0/16)';
  if (slash < 0) return bad(usage);
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip.ok || !/^(0|[1-9]\d{0,2})$/.test(prefixText)) return bad(usage);
  const prefix = Number(prefixText);
  const max = ip.value.family === 4 ? 32 : 128;
  if (prefix > max) return bad(`prefix length ${prefix} is longer than ${max}`);
  return ok({ ip: ip.value, prefix });
}

/** ADDRESS/PREFIX with no host bits set. */
export function parseCidr(text: string): Checked<Cidr> {
  const p = parsePrefixed(text);
  if (!p.ok) return p;
  const c = cidrOf(p.value.ip, p.value.prefix);
  if (canonical(c.network) !== p.value.ip.text) return bad(`host bits are set (did you mean ${c.cidr}?)`);
  return ok(c);
}

/** ADDRESS/PREFIX of an interface (host bits allowed), e.g. 1.2.0.100/16. */
export function parseIfaceAddress(text: string): Checked<IfaceAddress> {
  const p = parsePrefixed(text);
  if (!p.ok) return p;
  return ok({ ...p.value, text: `${p.value.ip.text}/${p.value.prefix}` });
}

/** The network `ip` lies in with this prefix length. */
export function cidrOf(ip: Ip, prefix: number): Cidr {
  const network = networkAddress(ip.addr, prefix);
  return { cidr: `${canonical(network)}/${prefix}`, family: ip.family, prefix, network };
}

/** The canonical network form of a CIDR, host bits cleared (10.1.2.3/8 → 10.0.0.0/8). */
export function canonicalCidr(text: string): string | undefined {
  const p = parsePrefixed(text);
  return p.ok ? cidrOf(p.value.ip, p.value.prefix).cidr : undefined;
}

function networkAddress(addr: ipaddr.IPv4 | ipaddr.IPv6, prefix: number): ipaddr.IPv4 | ipaddr.IPv6 {
  const bytes = addr.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return ipaddr.fromByteArray(bytes);
}

function lastAddress(cidr: Cidr): ipaddr.IPv4 | ipaddr.IPv6 {
  const bytes = cidr.network.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, cidr.prefix - i * 8));
    bytes[i] = bytes[i]! | (0xff >> keep);
  }
  return ipaddr.fromByteArray(bytes);
}

export function ipInCidr(ip: Ip, cidr: Cidr): boolean {
  return ip.family === cidr.family && ip.addr.match(cidr.network, cidr.prefix);
}

/** Whether the address text lies in the CIDR text (false when either does not parse). */
export function containsIp(cidrText: string, ipText: string): boolean {
  const c = parsePrefixed(cidrText);
  const i = parseIp(ipText);
  return c.ok && i.ok && ipInCidr(i.value, cidrOf(c.value.ip, c.value.prefix));
}

/** Whether two CIDRs share any address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const shorter = a.prefix <= b.prefix ? a : b;
  const longer = shorter === a ? b : a;
  return longer.network.match(shorter.network, shorter.prefix);
}

/**
 * Why `ip` cannot be a host address in `cidr`, or undefined when it can: it must lie inside, and
 * not be the network address (IPv6: the subnet-router anycast address) or (IPv4) the broadcast
 * address. /31 and /32 (IPv4) and /127, /128 have no such reserved addresses.
 */
export function checkHostAddress(ip: Ip, cidr: Cidr): string | undefined {
  if (ip.family !== cidr.family) return `is IPv${ip.family} but ${cidr.cidr} is IPv${cidr.family}`;
  if (!ipInCidr(ip, cidr)) return `is not inside ${cidr.cidr}`;
  const max = cidr.family === 4 ? 32 : 128;
  if (cidr.prefix >= max - 1) return undefined;
  if (ip.text === canonical(cidr.network))
    return cidr.family === 6
      ? `is the subnet-router anycast address of ${cidr.cidr}`
      : `is the network address of ${cidr.cidr}`;
  if (cidr.family === 4 && ip.text === canonical(lastAddress(cidr)))
    return `is the broadcast address of ${cidr.cidr}`;
  return undefined;
}

/** Compares two addresses of the same family: negative, 0 or positive. */
export function compareIp(a: Ip, b: Ip): number {
  const x = a.addr.toByteArray();
  const y = b.addr.toByteArray();
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** Orders CIDRs by family, then network address, then prefix length; unparseable ones last, as text. */
export function compareCidrs(a: string, b: string): number {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x.ok || !y.ok) return x.ok ? -1 : y.ok ? 1 : a.localeCompare(b);
  if (x.value.family !== y.value.family) return x.value.family - y.value.family;
  const p = x.value.network.toByteArray();
  const q = y.value.network.toByteArray();
  for (let i = 0; i < p.length; i++) if (p[i] !== q[i]) return p[i]! - q[i]!;
  return x.value.prefix - y.value.prefix;
}

/** A unicast Ethernet address, XX:XX:XX:XX:XX:XX (or with '-'); returned lowercase with ':'. */
export function parseMac(text: string): Checked<string> {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(text) || new Set(text.match(/[:-]/g)).size !== 1)
    return bad('not a MAC address (expected XX:XX:XX:XX:XX:XX)');
  const mac = text.toLowerCase().replaceAll('-', ':');
  if (Number.parseInt(mac.slice(0, 2), 16) & 1) return bad('is a multicast address');
  if (mac === '00:00:00:00:00:00') return bad('is the zero address');
  return ok(mac);
}
