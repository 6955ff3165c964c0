/**
 * A NIC as N-Net records it (an attachment: its addressing plus where it is plugged) → the plug
 * spec that installs it. ADD plugs with it, CHECK verifies with it, the agent's re-plug restores
 * with it, and the CNI result reports the same record (src/cni/verbs): one source, so what is
 * installed, reported and checked cannot differ.
 */
import type { PlugSpecInput } from '../plug/index.ts';
import type { AttachmentIp, AttachmentRoute } from '../store/index.ts';

export interface NicRecord {
  portId: string;
  mac: string;
  mtu: number;
  ips: readonly AttachmentIp[];
  routes: readonly AttachmentRoute[];
  netns: string;
  ifname: string;
  namespace?: string;
  pod?: string;
  containerId?: string;
  subport?: { vlan: number } | undefined;
}

export function plugSpecOf(nic: NicRecord): PlugSpecInput {
  return {
    portId: nic.portId,
    mac: nic.mac,
    ips: nic.ips.map((i) => ({ address: i.address, prefixLength: i.prefixLength })),
    routes: nic.routes.map((r) => ({ ...r })),
    mtu: nic.mtu,
    netns: nic.netns,
    ifname: nic.ifname,
    ...(nic.namespace !== undefined ? { podNamespace: nic.namespace } : {}),
    ...(nic.pod !== undefined ? { podName: nic.pod } : {}),
    ...(nic.containerId !== undefined ? { containerId: nic.containerId } : {}),
    ...(nic.subport ? { vlan: nic.subport.vlan } : {}),
  };
}
