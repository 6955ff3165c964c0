/** The pod side shared by both drivers: finding N-Net's NIC in the pod, moving it in, addressing it. */
import { PlugError } from '../errors/index.ts';
import { canonicalIp, ipFamily } from '../resources/index.ts';
import { type DeviceState, type LinkInfo, listLinks } from './links.ts';
import { type IpCommand, ipBatch, type NetnsPath, netnsLabel, netnsTarget } from './netns.ts';
import { type PlugSpec, podAlias } from './spec.ts';

export interface PodDevices {
  /** N-Net's NIC for this port (recognised by its ifalias), under whatever name it has now. */
  ours: LinkInfo | undefined;
}

/** Looks at the pod's links; fails when `ifname` is taken by a device that is not this port's. */
export async function podDevices(spec: Pick<PlugSpec, 'netns' | 'ifname' | 'portId'>): Promise<PodDevices> {
  const links = await listLinks(spec.netns);
  const alias = podAlias(spec.portId);
  const ours = links.find((l) => l.alias === alias);
  const taken = links.find((l) => l.name === spec.ifname);
  if (taken && taken !== ours)
    throw new PlugError(
      'link',
      `${spec.ifname} already exists in netns ${spec.netns} and is not the NIC of port ${spec.portId}` +
        (taken.alias ? ` (alias ${taken.alias})` : ''),
    );
  return { ours };
}

/** Labels `dev` (in `from`) as this port's NIC and moves it into the pod netns (one process). */
export async function moveIntoPod(
  from: NetnsPath,
  dev: string,
  spec: Pick<PlugSpec, 'netns' | 'portId'>,
): Promise<void> {
  await ipBatch(from, [
    ['link', 'set', 'dev', dev, 'alias', podAlias(spec.portId)],
    ['link', 'set', 'dev', dev, 'netns', spec.netns],
  ]);
}

/**
 * Moves the pod's NIC back to `to` under its host name (undo of moveIntoPod for internal ports, and
 * how a pool port returns to the pool). False when the pod has no NIC of this port.
 */
export async function moveOutOfPod(
  spec: Pick<PlugSpec, 'netns' | 'portId'>,
  to: NetnsPath,
  hostName: string,
): Promise<boolean> {
  const alias = podAlias(spec.portId);
  const ours = (await listLinks(spec.netns)).find((l) => l.alias === alias);
  if (!ours) return false;
  const cmds: IpCommand[] = [['link', 'set', 'dev', ours.name, 'down']];
  if (ours.name !== hostName) cmds.push(['link', 'set', 'dev', ours.name, 'name', hostName]);
  cmds.push(['link', 'set', 'dev', hostName, 'netns', netnsTarget(to)]);
  await ipBatch(spec.netns, cmds);
  return true;
}

/** Deletes this port's NIC from the pod if it is there (idempotent). */
export async function deleteFromPod(spec: Pick<PlugSpec, 'netns' | 'portId'>): Promise<void> {
  const alias = podAlias(spec.portId);
  const ours = (await listLinks(spec.netns)).filter((l) => l.alias === alias);
  if (ours.length > 0)
    await ipBatch(
      spec.netns,
      ours.map((l) => ['link', 'del', 'dev', l.name]),
    );
}

/** What configureBatch sets on a NIC (a pod's, or a node's own port). */
export type NicConfig = Pick<PlugSpec, 'ifname' | 'mac' | 'mtu' | 'ips' | 'routes'>;

function routeArgs(spec: NicConfig, r: PlugSpec['routes'][number]): string[] {
  const args = ['route', 'replace', r.dst];
  if (r.gateway) args.push('via', r.gateway);
  args.push('dev', spec.ifname);
  if (r.onlink) args.push('onlink');
  return args;
}

/**
 * The `ip` batch that gives the NIC (now called `current` in the pod) its name, MAC, MTU, addresses
 * and routes, and brings it up. With `state` (the device as it is now), only what differs is
 * changed; addresses and routes use replace, so the batch is idempotent.
 */
export function configureBatch(spec: NicConfig, current: string, state?: DeviceState): IpCommand[] {
  const dev = spec.ifname;
  const cmds: IpCommand[] = [];
  const macDiffers = !state || state.link.mac !== spec.mac;
  if (state?.link.up && (macDiffers || current !== dev)) cmds.push(['link', 'set', 'dev', current, 'down']);
  if (current !== dev) cmds.push(['link', 'set', 'dev', current, 'name', dev]);
  const l2 = ['link', 'set', 'dev', dev];
  if (macDiffers) l2.push('address', spec.mac);
  if (!state || state.link.mtu !== spec.mtu) l2.push('mtu', String(spec.mtu));
  if (l2.length > 4) cmds.push(l2);
  for (const a of spec.ips) {
    const has = state?.addrs.some(
      (s) => canonicalIp(s.address) === canonicalIp(a.address) && s.prefixLength === a.prefixLength,
    );
    if (has) continue;
    const cmd = ['addr', 'replace', `${a.address}/${a.prefixLength}`, 'dev', dev];
    // No duplicate address detection: Neutron already made the address unique, and DAD would
    // leave it `tentative` (unusable) for a second or more after ADD returns.
    if (ipFamily(a.address) === 6) cmd.push('nodad');
    cmds.push(cmd);
  }
  cmds.push(['link', 'set', 'dev', dev, 'up']);
  for (const r of spec.routes) cmds.push(routeArgs(spec, r));
  return cmds;
}

/** Applies configureBatch in the pod (one process); the error names the device and the netns. */
export async function configurePod(spec: PlugSpec, current: string, state?: DeviceState): Promise<void> {
  try {
    await ipBatch(spec.netns, configureBatch(spec, current, state));
  } catch (e) {
    if (e instanceof PlugError && e.reason === 'link')
      throw new PlugError('link', `configuring ${spec.ifname} in ${netnsLabel(spec.netns)}: ${e.message}`, {
        cause: e,
        ...(e.details ? { details: e.details } : {}),
      });
    throw e;
  }
}
