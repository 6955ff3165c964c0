/** CHECK: is the pod's NIC and its OVS port still as plugged? */
import { DeployError } from '../errors/index.ts';
import { listLinks, readDevice } from './links.ts';
import { assertNetns, netnsLabel } from './netns.ts';
import { findPortByIfaceId, withOvsdb } from './ovs.ts';
import type { DeploySettings } from './settings.ts';
import { deviceNames, ipFamily, normCidr, normIp, type PlugSpec, podAlias } from './spec.ts';

function fail(msg: string): never {
  throw new DeployError('check-failed', msg);
}

/**
 * Verifies the pod's interface (alias, MAC, MTU, up, addresses, routes) and the OVS port (on the
 * bridge, right iface-id, attached by vswitchd); throws DeployError('check-failed') saying what differs.
 */
export async function checkPlug(settings: DeploySettings, spec: PlugSpec): Promise<void> {
  assertNetns(spec.netns);
  const where = `${spec.ifname} in ${netnsLabel(spec.netns)}`;
  const dev = await readDevice(spec.netns, spec.ifname);
  if (!dev) fail(`${where} does not exist`);
  if (dev.link.alias !== podAlias(spec.portId)) fail(`${where} is not the NIC of port ${spec.portId}`);
  if (dev.link.mac !== spec.mac) fail(`${where} has MAC ${dev.link.mac}, expected ${spec.mac}`);
  if (dev.link.mtu !== spec.mtu) fail(`${where} has MTU ${dev.link.mtu}, expected ${spec.mtu}`);
  if (!dev.link.up) fail(`${where} is down`);
  for (const a of spec.ips)
    if (!dev.addrs.some((d) => normIp(d.address) === normIp(a.address) && d.prefixLength === a.prefixLength))
      fail(`${where} lacks address ${a.address}/${a.prefixLength}`);
  const wantRoutes = [
    ...(spec.gateway
      ? [{ dst: ipFamily(spec.gateway) === 4 ? '0.0.0.0/0' : '::/0', gateway: spec.gateway }]
      : []),
    ...spec.routes,
  ];
  for (const r of wantRoutes) {
    const dst = normCidr(r.dst);
    const found = dev.routes.some((d) => {
      const ddst =
        d.dst === 'default' ? (d.gateway && ipFamily(d.gateway) === 6 ? '::/0' : '0.0.0.0/0') : d.dst;
      const ndst = ddst.includes('/')
        ? normCidr(ddst)
        : normCidr(`${ddst}/${ipFamily(ddst) === 4 ? 32 : 128}`);
      return (
        ndst === dst &&
        (r.gateway ? d.gateway !== undefined && normIp(d.gateway) === normIp(r.gateway) : true)
      );
    });
    if (!found) fail(`${where} lacks route ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}`);
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
