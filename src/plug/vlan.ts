/**
 * The `vlan` driver (nested mode: the node is a VM, the pod's port a subport of the VM's trunk).
 * Frames of the subport reach the VM's NIC tagged with its VLAN; the pod's NIC is what untags
 * them. Two ways to make it, chosen by `nested.vlanDevice`:
 *
 * - `kernel`: an 802.1Q device on the NIC (`ip link add link NIC name nnv<hex> type vlan id N`),
 *   moved into the pod and configured like an internal port's tap. Steps `vlan-device`, `move`,
 *   `configure`.
 * - `ovs`: an access port (Port:tag = N) of an OVS bridge inside the VM that holds the NIC: the
 *   internal driver, tagged. For VM kernels built without 802.1Q (the one these tests run on).
 */
import { PlugError } from '../errors/index.ts';
import type { DriverContext, DriverResult } from './driver.ts';
import { plugInternal } from './internal.ts';
import { readDevice } from './links.ts';
import { ipBatch, type NetnsPath, netnsLabel } from './netns.ts';
import { configurePod, deleteFromPod, moveIntoPod, podDevices } from './pod.ts';
import type { PlugSettings } from './settings.ts';
import type { PlugSpec } from './spec.ts';
import { runSteps } from './steps.ts';

/** The VM's NIC that carries the trunk, and the netns it is in. */
export function nestedNic(settings: PlugSettings): { nic: string; netns: NetnsPath } {
  const n = settings.nested ?? { nic: 'eth0', vlanDevice: 'kernel' as const };
  return {
    nic: n.nic,
    netns: n.nicNetns ?? (n.vlanDevice === 'ovs' ? settings.vswitchdNetns : undefined),
  };
}

function vlanOf(spec: PlugSpec): number {
  if (spec.vlan === undefined)
    throw new PlugError(
      'link',
      `port ${spec.portId} has no VLAN ID: the vlan driver plugs trunk subports only`,
    );
  return spec.vlan;
}

/** The NIC must exist and the pod's MTU fit in it (a VLAN device cannot be larger than its NIC). */
async function assertNicFits(settings: PlugSettings, spec: PlugSpec): Promise<void> {
  const { nic, mtu } = await readNestedNic(settings);
  if (mtu === undefined)
    throw new PlugError(
      'link',
      `the node's NIC ${nic} (nested.nic), which carries the trunk, is not found in ${netnsLabel(nestedNic(settings).netns)}`,
    );
  if (spec.mtu > mtu)
    throw new PlugError(
      'link',
      `port ${spec.portId} wants MTU ${spec.mtu}, more than the node's NIC ${nic} has (${mtu}); set the config's mtu to ${mtu} or less`,
    );
}

/** The VM's NIC as the kernel has it (its MAC finds the trunk parent port), or undefined. */
export async function readNestedNic(
  settings: PlugSettings,
): Promise<{ nic: string; mac: string | undefined; mtu: number | undefined }> {
  const { nic, netns } = nestedNic(settings);
  const dev = await readDevice(netns, nic);
  return { nic, mac: dev?.link.mac, mtu: dev?.link.mtu };
}

/** The vlan driver with 802.1Q devices: no OVS on the node at all. */
export function usesKernelVlan(settings: PlugSettings): boolean {
  return settings.driver === 'vlan' && settings.nested?.vlanDevice !== 'ovs';
}

/** With an OVS bridge in the VM: the internal driver, its port tagged with the subport's VLAN. */
export async function plugOvsVlan(ctx: DriverContext): Promise<DriverResult> {
  const vlan = vlanOf(ctx.spec);
  await assertNicFits(ctx.settings, ctx.spec);
  return plugInternal(ctx, vlan);
}

export async function plugKernelVlan(
  ctx: Pick<DriverContext, 'settings' | 'spec' | 'names' | 'log'>,
): Promise<DriverResult> {
  const { spec, names } = ctx;
  const vlan = vlanOf(spec);
  await assertNicFits(ctx.settings, spec);
  const { nic, netns } = nestedNic(ctx.settings);
  const dev = names.vlan;
  let current: string | undefined;
  let fresh = false;
  const changed = await runSteps(
    [
      {
        name: 'vlan-device',
        run: async () => {
          const { ours } = await podDevices(spec);
          if (ours) {
            current = ours.name;
            return undefined;
          }
          const left = await readDevice(netns, dev);
          if (!left) await addVlanDevice(netns, nic, dev, vlan);
          return async () => {
            await ipBatch(netns, [['link', 'del', 'dev', dev]]).catch(() => undefined);
          };
        },
      },
      {
        name: 'move',
        run: async () => {
          if (current) return undefined;
          await moveIntoPod(netns, dev, spec);
          current = dev;
          fresh = true;
          return async () => {
            await deleteFromPod(spec);
          };
        },
      },
      {
        name: 'configure',
        run: async () => {
          const state = fresh ? undefined : await readDevice(spec.netns, current!);
          await configurePod(spec, current!, state);
          return undefined;
        },
      },
    ],
    { log: ctx.log, what: `VLAN ${vlan} plug of port ${spec.portId}` },
  );
  return { ovsPort: '', hostIfname: undefined, changed };
}

/** `ip link add link NIC name DEV type vlan id N`, with a clear error where the kernel has no 802.1Q. */
export async function addVlanDevice(netns: NetnsPath, nic: string, dev: string, vlan: number): Promise<void> {
  try {
    await ipBatch(netns, [['link', 'add', 'link', nic, 'name', dev, 'type', 'vlan', 'id', String(vlan)]]);
  } catch (e) {
    if (e instanceof PlugError && /Unknown device type|Operation not supported/.test(e.message))
      throw new PlugError(
        'link',
        `the node's kernel has no 802.1Q VLAN devices (ip link add … type vlan: ${/Unknown device type/.test(e.message) ? 'Unknown device type' : 'Operation not supported'}); load the 8021q module, or set nested.vlanDevice to "ovs"`,
        { cause: e },
      );
    throw e;
  }
}
