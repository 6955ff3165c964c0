/**
 * Pure checks of values typed by the user, needing no service: Kubernetes (DNS-1123) and Neutron
 * names, and a pod's network request (its subnet, static IPs and MAC; the IP, CIDR and MAC
 * syntax itself is src/resources/ip.ts's). Each returns the canonical value or a reason string
 * (the parser turns reasons into kubectl-style InputErrors).
 *
 *   checkPodNetworkFields({ subnet: '1.2.0.0/16', ips: ['1.2.0.0'] })
 *   // { ok: false, field: 'ip', value: '1.2.0.0', reason: 'is the network address of 1.2.0.0/16' }
 */
import {
  type Cidr,
  checkHostAddress,
  type IpFamily,
  MAX_POD_SECURITY_GROUPS,
  parseCidr,
  parseIp,
  parseMac,
} from '../resources/index.ts';

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
  /** Static IPs, at most one per IP family. */
  ips?: string[];
  mac?: string;
  /** Security groups, by name or id, without repeats. */
  securityGroups?: string[];
  /** The pod's other NICs (net1, net2, …) as given: `NETWORK[@IP]`. Checked into `extraNics`. */
  extraNetworks?: string[];
  extraNics?: ExtraNic[];
}

/** A pod's extra NIC as asked for: its network (name or id) and a static IP there, if any. */
export interface ExtraNic {
  network: string;
  ips: string[];
}

/** A pod has at most this many NICs (eth0 and net1…net7). */
export const MAX_POD_NICS = 8;

export type PodNetworkCheck =
  | { ok: true; value: PodNetworkFields }
  | {
      ok: false;
      field: 'network' | 'subnet' | 'ip' | 'mac' | 'security-group';
      value: string;
      reason: string;
    };

/**
 * The entries of a comma-separated list (`1.2.0.100, fd00:1::100`, `web, ssh`), as an annotation or
 * a repeated flag gives them; undefined when an entry is empty.
 */
export function splitList(text: string): string[] | undefined {
  const items = text.split(',').map((s) => s.trim());
  return items.some((s) => s === '') ? undefined : items;
}

/**
 * Checks a pod's network request: names well-formed, a subnet given as a CIDR is a valid CIDR,
 * each static IP well-formed, at most one per family, and the one of the CIDR's family a usable
 * host address inside it; a MAC is a unicast address. Returns canonical values.
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
  if (fields.ips !== undefined) {
    const ips = checkIps(fields.ips, cidr);
    if (!ips.ok) return ips;
    out.ips = ips.value;
  }
  if (fields.mac !== undefined) {
    const mac = parseMac(fields.mac);
    if (!mac.ok) return { ok: false, field: 'mac', value: fields.mac, reason: mac.reason };
    out.mac = mac.value;
  }
  if (fields.securityGroups !== undefined) {
    const groups = [...new Set(fields.securityGroups)];
    for (const g of groups) {
      const reason = checkResourceName(g);
      if (reason) return { ok: false, field: 'security-group', value: g, reason };
    }
    if (groups.length > MAX_POD_SECURITY_GROUPS)
      return {
        ok: false,
        field: 'security-group',
        value: groups.join(','),
        reason: `${groups.length} security groups; a pod may have at most ${MAX_POD_SECURITY_GROUPS}`,
      };
    out.securityGroups = groups;
  }
  if (fields.extraNetworks !== undefined) {
    if (fields.extraNetworks.length + 1 > MAX_POD_NICS)
      return {
        ok: false,
        field: 'network',
        value: fields.extraNetworks.join(','),
        reason: `${fields.extraNetworks.length + 1} NICs; a pod may have at most ${MAX_POD_NICS} (eth0 and net1 to net${MAX_POD_NICS - 1})`,
      };
    const extras: ExtraNic[] = [];
    for (const text of fields.extraNetworks) {
      const nic = checkExtraNic(text);
      if (!nic.ok) return nic;
      extras.push(nic.value);
    }
    const taken = new Map<string, string>((out.ips ?? []).map((ip) => [ip, 'eth0']));
    for (const [i, nic] of extras.entries())
      for (const ip of nic.ips) {
        const other = taken.get(ip);
        if (other)
          return {
            ok: false,
            field: 'network',
            value: fields.extraNetworks[i]!,
            reason: `${ip} is asked for ${other} already: two NICs cannot have the same IP`,
          };
        taken.set(ip, `net${i + 1}`);
      }
    out.extraNics = extras;
  }
  return { ok: true, value: out };
}

/** Each IP well-formed, one per family, and inside `cidr` when it is of the CIDR's family. */
function checkIps(
  ips: readonly string[],
  cidr: Cidr | undefined,
): { ok: true; value: string[] } | (PodNetworkCheck & { ok: false }) {
  const seen: { text: string; family: IpFamily }[] = [];
  for (const text of ips) {
    const ip = parseIp(text);
    if (!ip.ok) return { ok: false, field: 'ip', value: text, reason: ip.reason };
    const { family } = ip.value;
    const twin = seen.find((s) => s.family === family);
    if (twin)
      return {
        ok: false,
        field: 'ip',
        value: text,
        reason: `two IPv${family} addresses (${twin.text} and ${ip.value.text}) for one NIC; give at most one per family`,
      };
    if (cidr && cidr.family === family) {
      const reason = checkHostAddress(ip.value, cidr);
      if (reason) return { ok: false, field: 'ip', value: text, reason };
    }
    seen.push({ text: ip.value.text, family });
  }
  // IPv4 first, as the NIC's fixed IPs are ordered.
  return { ok: true, value: seen.sort((a, b) => a.family - b.family).map((s) => s.text) };
}

/** `storage` or `storage@10.77.0.50`: an extra NIC's network and its static IP. */
function checkExtraNic(text: string): { ok: true; value: ExtraNic } | (PodNetworkCheck & { ok: false }) {
  const at = text.indexOf('@');
  const network = (at < 0 ? text : text.slice(0, at)).trim();
  const reason = checkResourceName(network);
  if (reason) return { ok: false, field: 'network', value: text, reason };
  if (at < 0) return { ok: true, value: { network, ips: [] } };
  const ip = parseIp(text.slice(at + 1).trim());
  if (!ip.ok) return { ok: false, field: 'network', value: text, reason: `the IP after @: ${ip.reason}` };
  return { ok: true, value: { network, ips: [ip.value.text] } };
}
