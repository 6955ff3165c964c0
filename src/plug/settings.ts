/** What the plug needs to know about the node: where OVSDB is, which bridge, which datapath. */
import { z } from 'zod';
import { InputError } from '../errors/index.ts';
import { formatOvsdbTarget, type OvsdbTarget, parseOvsdbTarget } from './ovsdb-target.ts';

export const PLUG_DRIVERS = ['internal', 'hybrid', 'vlan'] as const;
export type PlugDriver = (typeof PLUG_DRIVERS)[number];

const OVS_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export const PlugSettingsSchema = z.object({
  /** OVSDB server: `unix:/path`, a plain absolute socket path, or `tcp:HOST:PORT` (ovsdb-target.ts). */
  ovsdb: z
    .string()
    .superRefine((s, ctx) => {
      const t = parseOvsdbTarget(s);
      if ('problem' in t) ctx.addIssue({ code: 'custom', message: t.problem });
    })
    .default('unix:/var/run/openvswitch/db.sock'),
  /** The integration bridge ovn-controller / the Neutron OVS agent watches. */
  bridge: z.string().regex(OVS_NAME, 'not a valid OVS bridge name').default('br-int'),
  /** 'system' (kernel datapath) in production; 'netdev' (userspace) where there is no OVS kernel module. */
  datapathType: z.enum(['system', 'netdev']).default('system'),
  driver: z.enum(PLUG_DRIVERS).default('internal'),
  /**
   * Network namespace where ovs-vswitchd runs (an nsfs path): its internal-port taps appear there,
   * and the hybrid driver's veths and qbr bridge live there. Unset: the namespace of this process.
   */
  vswitchdNetns: z.string().startsWith('/', 'must be an absolute path').optional(),
  /**
   * Nested mode (`driver: 'vlan'`, the node is a VM): the pod's port is a subport of the VM's
   * trunk and reaches the pod as a VLAN device on the VM's NIC. `vlanDevice: 'kernel'` is an
   * 802.1Q device (`ip link add link NIC type vlan`); `'ovs'` is an access port (`tag`) of an
   * OVS bridge inside the VM that holds the NIC (then `ovsdb`, `bridge`, `vswitchdNetns` are the
   * VM's own OVS), for kernels without 802.1Q.
   */
  nested: z
    .object({
      /** The VM's trunk parent port; unset: the port whose MAC is the NIC's. */
      parentPort: z.string().uuid('must be a Neutron port id').optional(),
      nic: z
        .string()
        .regex(/^[A-Za-z0-9_.:@-]{1,15}$/, 'not a valid interface name')
        .default('eth0'),
      vlanDevice: z.enum(['kernel', 'ovs']).default('kernel'),
      /** The netns the NIC is in (an nsfs path); unset: this process's. */
      nicNetns: z.string().startsWith('/', 'must be an absolute path').optional(),
    })
    .optional(),
  /** How long to wait for ovs-vswitchd to apply a change (and the tap to appear). */
  timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
});

export type PlugSettingsInput = z.input<typeof PlugSettingsSchema>;
export interface PlugSettings extends Omit<z.output<typeof PlugSettingsSchema>, 'ovsdb'> {
  /** Where OVSDB is, as messages name it: the unix socket's path (without `unix:`), or `tcp:HOST:PORT`. */
  ovsdbSocket: string;
}

/** Validates plug settings (defaults filled in); InputError('invalid-config') names the bad field. */
export function parsePlugSettings(input: unknown = {}): PlugSettings {
  const r = PlugSettingsSchema.safeParse(input ?? {});
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(settings)'}: ${i.message}`).join('; ');
    throw new InputError('invalid-config', `invalid deploy settings: ${issues}`);
  }
  const { ovsdb, ...rest } = r.data;
  return { ...rest, ovsdbSocket: formatOvsdbTarget(parseOvsdbTarget(ovsdb) as OvsdbTarget) };
}
