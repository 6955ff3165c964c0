/** CHECK: is the pod's NIC and its OVS port still as plugged? */
import { PlugError } from '../errors/index.ts';
import { canonicalCidr, canonicalIp, ipFamily } from '../resources/index.ts';
import { listLinks, readDevice } from './links.ts';
import { assertNetns, netnsLabel } from './netns.ts';
import { findPortByIfaceId, portTag, withOvsdb } from './ovs.ts';
import type { PlugSettings } from './settings.ts';
import { deviceNames, type PlugSpec, podAlias } from './spec.ts';
import { usesKernelVlan } from './vlan.ts';

function fail(msg: string): never {
  throw new PlugError('check-failed', msg);
}

/**
 * Verifies the pod's interface (alias, MAC, MTU, up, addresses, routes) and the OVS port (on the
 * bridge, right iface-id, attached by vswitchd); throws PlugError('check-failed') saying what differs.
 */
export async function checkPlug(settings: PlugSettings, spec: PlugSpec): Promise<void> {
  assertNetns(spec.netns);
  const where = `${spec.ifname} in ${netnsLabel(spec.netns)}`;
  const dev = await readDevice(spec.netns, spec.ifname);
  if (!dev) fail(`${where} does not exist`);
  if (dev.link.alias !== podAlias(spec.portId)) fail(`${where} is not the NIC of port ${spec.portId}`);
  if (dev.link.mac !== spec.mac) fail(`${where} has MAC ${dev.link.mac}, expected ${spec.mac}`);
  if (dev.link.mtu !== spec.mtu) fail(`${where} has MTU ${dev.link.mtu}, expected ${spec.mtu}`);
  if (!dev.link.up) fail(`${where} is down`);
  for (const a of spec.ips)
    if (
      !dev.addrs.some(
        (d) => canonicalIp(d.address) === canonicalIp(a.address) && d.prefixLength === a.prefixLength,
      )
    )
      fail(`${where} lacks address ${a.address}/${a.prefixLength}`);
  const installed = dev.routes.map((d) => ({
    dst: routeDst(d),
    gateway: d.gateway && canonicalIp(d.gateway),
  }));
  for (const r of spec.routes) {
    const dst = canonicalCidr(r.dst);
    const gateway = r.gateway && canonicalIp(r.gateway);
    if (!installed.some((d) => d.dst === dst && d.gateway === gateway))
      fail(`${where} lacks route ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}`);
  }

  if (settings.driver === 'vlan' && spec.vlan !== undefined) {
    if (usesKernelVlan(settings)) {
      if (dev.link.vlanId !== spec.vlan)
        fail(`${where} carries VLAN ${dev.link.vlanId ?? '(none)'}, expected ${spec.vlan}`);
      return;
    }
    const tag = await withOvsdb(settings, (c) => portTag(c, deviceNames(spec.portId).internal));
    if (tag !== spec.vlan)
      fail(
        `OVS port ${deviceNames(spec.portId).internal} has VLAN tag ${tag ?? '(none)'}, expected ${spec.vlan}`,
      );
  }
  const port = await withOvsdb(settings, (c) => findPortByIfaceId(c, spec.portId));
  if (!port) fail(`no OVS interface has iface-id ${spec.portId} (bridge ${settings.bridge})`);
  const names = deviceNames(spec.portId);
  const expected = port.driver === 'hybrid' ? names.qvo : names.internal;
  if (port.name !== expected)
    fail(`OVS interface ${port.name} has iface-id ${spec.portId}, expected ${expected}`);
  if (port.error) fail(`OVS interface ${port.name} has error: ${port.error}`);
  if (port.ofport === -1) fail(`OVS interface ${port.name} is not attached (ofport -1)`);
  if (port.driver === 'hybrid') {
    const host = await listLinks(settings.vswitchdNetns);
    for (const [n, master] of [
      [names.tap, names.qbr],
      [names.qvb, names.qbr],
      [names.qvo, undefined],
    ] as const) {
      const l = host.find((x) => x.name === n);
      if (!l)
        fail(`host device ${n} of port ${spec.portId} is missing in ${netnsLabel(settings.vswitchdNetns)}`);
      if (master && l.master !== master) fail(`host device ${n} is not in bridge ${master}`);
    }
  }
}

/** A route's destination as `ip -j route` prints it ('default', a CIDR, a host) → canonical CIDR. */
function routeDst(r: { dst: string; gateway: string | undefined }): string | undefined {
  if (r.dst === 'default') return r.gateway && ipFamily(r.gateway) === 6 ? '::/0' : '0.0.0.0/0';
  if (r.dst.includes('/')) return canonicalCidr(r.dst);
  return canonicalCidr(`${r.dst}/${ipFamily(r.dst) === 4 ? 32 : 128}`);
}
