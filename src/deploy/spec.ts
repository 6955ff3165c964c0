/** What to plug: the pod side (netns, ifname, L2/L3) and the Neutron port it belongs to. */
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { InputError } from '../errors/index.ts';

/** Step names of the plug drivers, in order; `failAfter` takes one of them. */
export const INTERNAL_STEPS = ['ovs-port', 'move', 'configure'] as const;
export const HYBRID_STEPS = ['bridge', 'veth-ovs', 'ovs-port', 'veth-pod', 'move', 'configure'] as const;
export type PlugStep = (typeof INTERNAL_STEPS)[number] | (typeof HYBRID_STEPS)[number];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
// Linux: 1–15 bytes, not "." or "..", no '/', ':' or whitespace.
const IFNAME = /^(?!\.{1,2}$)[^\s/:]{1,15}$/;

const ip = z.string().refine((s) => ipaddr.isValid(s), 'not an IP address');
const ipWithPrefix = z
  .object({ address: ip, prefixLength: z.number().int().min(0).max(128) })
  .refine((a) => a.prefixLength <= (ipaddr.parse(a.address).kind() === 'ipv4' ? 32 : 128), 'prefix too long');
const cidr = z.string().refine((s) => {
  try {
    ipaddr.parseCIDR(s);
    return true;
  } catch {
    return false;
  }
}, 'not a CIDR');

export const PlugSpecSchema = z.object({
  /** The Neutron port id; becomes external_ids:iface-id and names the host devices. */
  portId: z.string().regex(UUID, 'not a UUID'),
  mac: z
    .string()
    .regex(MAC, 'not a MAC address')
    .refine((m) => (Number.parseInt(m.slice(0, 2), 16) & 1) === 0, 'multicast MAC')
    .transform((m) => m.toLowerCase()),
  ips: z.array(ipWithPrefix).min(1),
  /** Default route next hop (IPv4 or IPv6); an IPv6 default next to an IPv4 one goes into `routes`. */
  gateway: ip.optional(),
  routes: z.array(z.object({ dst: cidr, gateway: ip.optional() })).default([]),
  mtu: z.number().int().min(68).max(65535),
  /** The pod's network namespace (CNI_NETNS): any nsfs path. */
  netns: z.string().startsWith('/'),
  ifname: z.string().regex(IFNAME, 'not a valid interface name'),
  podNamespace: z.string().default(''),
  podName: z.string().default(''),
  containerId: z.string().default(''),
  /** For tests only: fail right after this step, to prove the undo leaves nothing behind. */
  failAfter: z.enum([...INTERNAL_STEPS, ...HYBRID_STEPS]).optional(),
  /**
   * For tests only: how `failAfter` fails. 'sigkill' kills this process there (no undo runs), as a
   * crash would, to prove that DEL and GC collect what a killed ADD left (src/network/attach.ts).
   */
  failBy: z.enum(['error', 'sigkill']).optional(),
});
export type PlugSpecInput = z.input<typeof PlugSpecSchema>;
export type PlugSpec = z.output<typeof PlugSpecSchema>;

/** What unplug needs: enough to find the devices; the pod netns may be gone. */
export const UnplugSpecSchema = PlugSpecSchema.pick({ portId: true, netns: true, ifname: true }).partial({
  netns: true,
  ifname: true,
});
export type UnplugSpec = z.output<typeof UnplugSpecSchema>;

function issues(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join('.') || '(spec)'}: ${i.message}`).join('; ');
}

/** Validates a plug spec; InputError('invalid-config') names the bad field. */
export function parsePlugSpec(input: unknown): PlugSpec {
  const r = PlugSpecSchema.safeParse(input);
  if (!r.success) throw new InputError('invalid-config', `invalid plug spec: ${issues(r.error)}`);
  return r.data;
}

export function parseUnplugSpec(input: unknown): UnplugSpec {
  const r = UnplugSpecSchema.safeParse(input);
  if (!r.success) throw new InputError('invalid-config', `invalid unplug spec: ${issues(r.error)}`);
  return r.data;
}

/**
 * Host-side device names of a Neutron port: `nn` + the first 12 hex digits of its id (≤ 15 bytes,
 * unique per host for all practical purposes). Internal ports use `nn<hex>`; the hybrid chain uses
 * a letter that is not a hex digit after `nn`, so the two can never collide.
 */
export interface DeviceNames {
  internal: string; // OVS internal port (tap) — becomes the pod's NIC
  qbr: string; // hybrid: Linux bridge
  tap: string; // hybrid: host end of the pod veth, in qbr
  pod: string; // hybrid: pod end of the pod veth before it is moved and renamed
  qvb: string; // hybrid: veth end in qbr
  qvo: string; // hybrid: veth end on the OVS bridge
}

export function deviceNames(portId: string): DeviceNames {
  const hex = portId.replace(/-/g, '').toLowerCase().slice(0, 12);
  if (!/^[0-9a-f]{12}$/.test(hex)) throw new InputError('invalid-config', `port id ${portId} is not a UUID`);
  return {
    internal: `nn${hex}`,
    qbr: `nnq${hex}`,
    tap: `nnt${hex}`,
    pod: `nnp${hex}`,
    qvb: `nnb${hex}`,
    qvo: `nno${hex}`,
  };
}

/** The ifalias N-Net puts on the pod's NIC, so it can tell its own device from a foreign one. */
export function podAlias(portId: string): string {
  return `nnet:${portId.toLowerCase()}`;
}

export function ipFamily(address: string): 4 | 6 {
  return ipaddr.parse(address).kind() === 'ipv4' ? 4 : 6;
}

/** True when `gateway` lies inside one of the pod's subnets (else its route needs `onlink`). */
export function onSubnet(gateway: string, ips: PlugSpec['ips']): boolean {
  const g = ipaddr.parse(gateway);
  return ips.some((a) => {
    const addr = ipaddr.parse(a.address);
    return addr.kind() === g.kind() && g.match(addr, a.prefixLength);
  });
}

/** Normalises an address for comparison (IPv6 compressed form). */
export function normIp(address: string): string {
  return ipaddr.parse(address).toString();
}

/** Normalises a CIDR to its network form, e.g. 10.1.2.3/8 → 10.0.0.0/8. */
export function normCidr(c: string): string {
  const [addr, len] = ipaddr.parseCIDR(c);
  if (addr.kind() === 'ipv4') {
    const net = ipaddr.IPv4.networkAddressFromCIDR(c);
    return `${net.toString()}/${len}`;
  }
  const net = ipaddr.IPv6.networkAddressFromCIDR(c);
  return `${net.toString()}/${len}`;
}
