/** What to plug: the pod side (netns, ifname, L2/L3) and the Neutron port it belongs to. */
import { z } from 'zod';
import { InputError } from '../errors/index.ts';
import { canonicalCidr, ipFamily, isUuid, parseIp } from '../resources/index.ts';
import { ifnameProblem } from './ifname.ts';

/** Step names of the plug drivers, in order (each is a fault point, src/faults). */
export const INTERNAL_STEPS = ['ovs-port', 'move', 'configure'] as const;
export const HYBRID_STEPS = ['bridge', 'veth-ovs', 'ovs-port', 'veth-pod', 'move', 'configure'] as const;
/** The kernel VLAN device's steps (with an OVS bridge in the VM, the internal driver's, tagged). */
export const VLAN_STEPS = ['vlan-device', 'move', 'configure'] as const;
export type PlugStep =
  | (typeof INTERNAL_STEPS)[number]
  | (typeof HYBRID_STEPS)[number]
  | (typeof VLAN_STEPS)[number];

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

const ip = z.string().refine((s) => parseIp(s).ok, 'not an IP address');
const ipWithPrefix = z
  .object({ address: ip, prefixLength: z.number().int().min(0).max(128) })
  .refine((a) => a.prefixLength <= (ipFamily(a.address) === 4 ? 32 : 128), 'prefix too long');
const cidr = z.string().refine((s) => canonicalCidr(s) !== undefined, 'not a CIDR');
const route = z
  .object({ dst: cidr, gateway: ip.optional(), onlink: z.boolean().optional() })
  .refine((r) => r.gateway === undefined || ipFamily(r.gateway) === ipFamily(r.dst.split('/')[0]!), {
    message: "gateway is not of the destination's family",
  });

export const PlugSpecSchema = z.object({
  /** The Neutron port id; becomes external_ids:iface-id and names the host devices. */
  portId: z.string().refine(isUuid, 'not a UUID'),
  mac: z
    .string()
    .regex(MAC, 'not a MAC address')
    .refine((m) => (Number.parseInt(m.slice(0, 2), 16) & 1) === 0, 'multicast MAC')
    .transform((m) => m.toLowerCase()),
  ips: z.array(ipWithPrefix).min(1),
  /** Every route of the NIC, default routes included, exactly as NicAddressing lists them. */
  routes: z.array(route),
  mtu: z.number().int().min(68).max(65535),
  /** The pod's network namespace (CNI_NETNS): any nsfs path. */
  netns: z.string().startsWith('/'),
  ifname: z.string().superRefine((name, ctx) => {
    const problem = ifnameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: `not a valid interface name: it ${problem}` });
  }),
  podNamespace: z.string().default(''),
  podName: z.string().default(''),
  containerId: z.string().default(''),
  /** Nested mode: the subport's VLAN ID on the VM's trunk. */
  vlan: z.number().int().min(1).max(4094).optional(),
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
  host: string; // a node's own port: an internal port that stays in the node's netns
  vlan: string; // nested: the 802.1Q device on the VM's NIC before it is moved and renamed
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
    host: `nnh${hex}`,
    vlan: `nnv${hex}`,
  };
}

/** The ifalias N-Net puts on the pod's NIC, so it can tell its own device from a foreign one. */
export function podAlias(portId: string): string {
  return `nnet:${portId.toLowerCase()}`;
}
