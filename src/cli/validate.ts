/**
 * Pure checks of values typed by the user, needing no service: IP and CIDR syntax, an IP's place
 * in its CIDR, Kubernetes (DNS-1123) and Neutron names. Each returns the canonical value or a
 * reason string (the parser turns reasons into kubectl-style InputErrors).
 *
 *   parseCidr('1.2.0.0/16')            // { ok: true, value: { cidr: '1.2.0.0/16', family: 4, … } }
 *   checkIpInCidr('1.2.0.0', cidr)    // 'is the network address of 1.2.0.0/16'
 */
import ipaddr from 'ipaddr.js';

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface Ip {
  /** Canonical text: dotted quad, or RFC 5952 for IPv6. */
  text: string;
  family: 4 | 6;
  addr: ipaddr.IPv4 | ipaddr.IPv6;
}

export interface Cidr {
  cidr: string;
  family: 4 | 6;
  prefix: number;
  network: ipaddr.IPv4 | ipaddr.IPv6;
}

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = <T>(reason: string): Checked<T> => ({ ok: false, reason });

function canonical(addr: ipaddr.IPv4 | ipaddr.IPv6): string {
  return addr.kind() === 'ipv6' ? (addr as ipaddr.IPv6).toRFC5952String() : addr.toString();
}

/** A plain IPv4 (four decimal parts, no leading zeros) or IPv6 address without zone. */
export function parseIp(text: string): Checked<Ip> {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    const addr = ipaddr.IPv4.parse(text);
    return ok({ text: canonical(addr), family: 4, addr });
  }
  if (!text.includes('%') && ipaddr.IPv6.isValid(text)) {
    const addr = ipaddr.IPv6.parse(text);
    return ok({ text: canonical(addr), family: 6, addr });
  }
  return bad('not a valid IP address');
}

/** ADDRESS/PREFIX with no host bits set. */
export function parseCidr(text: string): Checked<Cidr> {
  const slash = text.indexOf('/');
  if (slash < 0) return bad('not a CIDR (expected ADDRESS/PREFIX, e.g. 1.2.0.0/16)');
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip.ok || !/^(0|[1-9]\d{0,2})$/.test(prefixText)) {
    return bad('not a CIDR (expected ADDRESS/PREFIX, e.g. 1.2.0.0/16)');
  }
  const prefix = Number(prefixText);
  const max = ip.value.family === 4 ? 32 : 128;
  if (prefix > max) return bad(`prefix length ${prefix} is longer than ${max}`);
  const network = networkAddress(ip.value.addr, prefix);
  const cidr = `${canonical(network)}/${prefix}`;
  if (canonical(network) !== ip.value.text) return bad(`host bits are set (did you mean ${cidr}?)`);
  return ok({ cidr, family: ip.value.family, prefix, network });
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

/**
 * Why `ip` cannot be a host address in `cidr`, or undefined when it can: it must lie inside, and
 * not be the network address or (IPv4) the broadcast address. /31 and /32 (IPv4) and /127, /128
 * have no such reserved addresses.
 */
export function checkHostAddress(ip: Ip, cidr: Cidr): string | undefined {
  if (ip.family !== cidr.family) return `is IPv${ip.family} but ${cidr.cidr} is IPv${cidr.family}`;
  if (!ipInCidr(ip, cidr)) return `is not inside ${cidr.cidr}`;
  const max = cidr.family === 4 ? 32 : 128;
  if (cidr.prefix >= max - 1) return undefined;
  if (ip.text === canonical(cidr.network)) return `is the network address of ${cidr.cidr}`;
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

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A namespace name: DNS-1123 label (lowercase alphanumerics and '-', at most 63). */
export function checkDns1123Label(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 63) return 'must be no more than 63 characters';
  if (!DNS1123_LABEL.test(name))
    return "must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
  return undefined;
}

/** A pod name: DNS-1123 subdomain (labels joined by '.', at most 253). */
export function checkDns1123Subdomain(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 253) return 'must be no more than 253 characters';
  if (!name.split('.').every((label) => DNS1123_LABEL.test(label)))
    return "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

/**
 * A Neutron resource name or id as N-Net accepts it on the command line: 1–255 characters, no
 * whitespace or control characters, and none of '/' and ',' (kubectl's TYPE/NAME and list syntax).
 */
export function checkResourceName(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 255) return 'must be no more than 255 characters';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\s\x00-\x1f\x7f/,]/.test(name)) return "must not contain whitespace, control characters, '/' or ','";
  return undefined;
}

export interface PodNetworkFields {
  network?: string;
  subnet?: string;
  ip?: string;
  mac?: string;
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

export type PodNetworkCheck =
  | { ok: true; value: PodNetworkFields }
  | { ok: false; field: keyof PodNetworkFields; value: string; reason: string };

/**
 * Checks a pod's network request: names well-formed, a subnet given as a CIDR is a valid CIDR,
 * a static IP lies inside it and is a usable host address, a MAC is a unicast address. Returns
 * canonical values.
 */
export function checkPodNetworkFields(fields: PodNetworkFields): PodNetworkCheck {
  const out: PodNetworkFields = {};
  if (fields.network !== undefined) {
    const reason = checkResourceName(fields.network);
    if (reason) return { ok: false, field: 'network', value: fields.network, reason };
    out.network = fields.network;
  }
  let cidr: Cidr | undefined;
  if (fields.subnet !== undefined) {
    if (fields.subnet.includes('/')) {
      const parsed = parseCidr(fields.subnet);
      if (!parsed.ok) return { ok: false, field: 'subnet', value: fields.subnet, reason: parsed.reason };
      cidr = parsed.value;
      out.subnet = cidr.cidr;
    } else {
      const reason = checkResourceName(fields.subnet);
      if (reason) return { ok: false, field: 'subnet', value: fields.subnet, reason };
      out.subnet = fields.subnet;
    }
  }
  if (fields.ip !== undefined) {
    const ip = parseIp(fields.ip);
    if (!ip.ok) return { ok: false, field: 'ip', value: fields.ip, reason: ip.reason };
    if (cidr) {
      const reason = checkHostAddress(ip.value, cidr);
      if (reason) return { ok: false, field: 'ip', value: fields.ip, reason };
    }
    out.ip = ip.value.text;
  }
  if (fields.mac !== undefined) {
    const mac = parseMac(fields.mac);
    if (!mac.ok) return { ok: false, field: 'mac', value: fields.mac, reason: mac.reason };
    out.mac = mac.value;
  }
  return { ok: true, value: out };
}
