/**
 * The one resolver of a pod NIC's target: which Neutron network it joins, which subnet it takes
 * an address from in each IP family, and which static IPs it asks for. kubenetctl resolves a
 * request here before it reserves the port; ADD resolves here when no port was reserved (the
 * runtime's `ips` capability, the conflist's defaults). Same names, same rules, same errors.
 *
 *   const t = await resolveNicTarget(scope, { subnet: '1.2.0.0/16', ips: ['1.2.0.100', 'fd00:1::100'] },
 *     { who: 'pod team-a/web' });
 *   t.fixedIps; // [{ subnet: 1.2.0.0/16, ip: '1.2.0.100' }, { subnet: fd00:1::/64, ip: 'fd00:1::100' }]
 *
 * Rules:
 * - a network is named by id or name, a subnet by id, name or CIDR (the cluster's own first);
 * - static IPs: at most one per family, each validated against its subnet (inside it, not its
 *   network, broadcast, subnet-router anycast or gateway address);
 * - with only IPs given, the cluster's subnet that contains the first one names the network;
 * - with nothing given, the defaults (the conflist's network/subnet, else the cluster's);
 * - the NIC gets one address in every IP family its network has a subnet of: the subnet given or
 *   holding the static IP, else the default subnet when it is of that family, else the
 *   network's first subnet of that family.
 */
import { InputError } from '../errors/index.ts';
import type { Network, Subnet } from '../neutron/index.ts';
import { type IpFamily, parseIp } from './ip.ts';
import {
  type ClusterScope,
  clusterSubnets,
  ipProblem,
  networkProblem,
  resolveNetwork,
  resolveSubnet,
  subnetContaining,
  subnetLabel,
} from './lookup.ts';

/** What was asked, as users write it (names, ids or CIDRs; plain IPs). */
export interface NicRequest {
  network?: string | undefined;
  subnet?: string | undefined;
  /** Static IPs, at most one per family. */
  ips?: readonly string[] | undefined;
  mac?: string | undefined;
}

export interface NicTarget {
  network: Network;
  /** One entry per IP family, IPv4 first: the subnet and, when asked, the static IP. */
  fixedIps: { subnet: Subnet; ip?: string }[];
  mac?: string;
}

export interface ResolveOptions {
  /** Who asks, for messages: `pod team-a/web`. */
  who: string;
  /** Used when the request names no network, subnet or IP. Default: the cluster's defaults. */
  defaults?: { network?: string | undefined; subnet?: string | undefined };
}

const bad = (msg: string) => new InputError('invalid-argument', msg);
const netLabel = (n: Network) => n.name || n.id;

/** Parses the static IPs: canonical text, at most one per family. */
export function parseNicIps(ips: readonly string[], who: string): { ip: string; family: IpFamily }[] {
  const out: { ip: string; family: IpFamily }[] = [];
  for (const text of ips) {
    const p = parseIp(text);
    if (!p.ok) throw bad(`${who}: IP "${text}" is ${p.reason}`);
    const twin = out.find((o) => o.family === p.value.family);
    if (twin)
      throw bad(
        `${who}: two IPv${p.value.family} addresses (${twin.ip} and ${p.value.text}) for one NIC; give at most one per family`,
      );
    out.push({ ip: p.value.text, family: p.value.family });
  }
  return out;
}

export async function resolveNicTarget(
  scope: ClusterScope,
  request: NicRequest,
  opts: ResolveOptions,
): Promise<NicTarget> {
  const { who } = opts;
  const ips = parseNicIps(request.ips ?? [], who);
  const named = request.network !== undefined || request.subnet !== undefined || ips.length > 0;
  const defaults = opts.defaults ?? {};
  const networkRef = named ? request.network : (defaults.network ?? scope.cluster.defaultNetworkId);
  const subnetRef = named
    ? request.subnet
    : defaults.subnet !== undefined || defaults.network !== undefined
      ? defaults.subnet
      : scope.cluster.defaultSubnetId;
  if (!named && networkRef === undefined && subnetRef === undefined)
    throw bad(`${who}: no network or subnet given, and cluster ${scope.cluster.name} has no default network`);

  let network = networkRef !== undefined ? await resolveNetwork(scope, networkRef) : undefined;
  const chosen = subnetRef !== undefined ? await resolveSubnet(scope, subnetRef, network) : undefined;

  // Each static IP's subnet: the chosen one for its family, else the one that contains it.
  const pinned: { subnet: Subnet; ip: string }[] = [];
  for (const { ip, family } of ips) {
    let subnet = chosen && chosen.ipVersion === family ? chosen : undefined;
    if (!subnet) {
      const networkId = network?.id ?? chosen?.networkId;
      const candidates = networkId
        ? await scope.neutron.subnets.list({ networkId })
        : await clusterSubnets(scope);
      subnet = subnetContaining(candidates, ip);
      if (!subnet) {
        const where = networkId
          ? `network ${network ? netLabel(network) : networkId}`
          : `cluster ${scope.cluster.name}`;
        const families = new Set(candidates.map((s) => s.ipVersion));
        const only =
          families.size === 1 && !families.has(family) ? ` (it has only IPv${[...families][0]} subnets)` : '';
        throw bad(
          `${who}: no subnet of ${where} contains IP ${ip}${only}; give the subnet (--subnet or nnet.io/subnet)`,
        );
      }
    }
    const problem = ipProblem(ip, subnet);
    if (problem) throw bad(`${who}: ${problem}`);
    pinned.push({ subnet, ip });
  }

  const networkId = network?.id ?? chosen?.networkId ?? pinned[0]?.subnet.networkId;
  if (networkId === undefined) throw bad(`${who}: no network for the NIC`);
  for (const s of [chosen, ...pinned.map((p) => p.subnet)])
    if (s && s.networkId !== networkId)
      throw bad(
        `${who}: subnet ${subnetLabel(s)} is on network ${s.networkId}, not on network ${network ? netLabel(network) : networkId}`,
      );
  network ??= await scope.neutron.networks.get(networkId);
  const foreign = await networkProblem(scope, network);
  if (foreign) throw bad(`${who}: ${foreign}`);

  // One address per family the network has: pinned, chosen, default, else the first subnet.
  const onNetwork = await scope.neutron.subnets.list({ networkId });
  const order = new Map(network.subnets.map((id, i) => [id, i]));
  onNetwork.sort((a, b) => (order.get(a.id) ?? 1e9) - (order.get(b.id) ?? 1e9));
  const preferred = scope.cluster.defaultSubnetId;
  const fixedIps: NicTarget['fixedIps'] = [];
  for (const family of [4, 6] as const) {
    const pin = pinned.find((p) => p.subnet.ipVersion === family);
    if (pin) {
      fixedIps.push(pin);
      continue;
    }
    const ofFamily = onNetwork.filter((s) => s.ipVersion === family);
    const subnet =
      (chosen?.ipVersion === family ? chosen : undefined) ??
      ofFamily.find((s) => s.id === preferred) ??
      ofFamily[0];
    if (subnet) fixedIps.push({ subnet });
  }
  if (fixedIps.length === 0) throw bad(`${who}: network ${netLabel(network)} has no subnet`);
  return { network, fixedIps, ...(request.mac !== undefined ? { mac: request.mac } : {}) };
}
