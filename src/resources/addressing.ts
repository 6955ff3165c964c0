/**
 * The one addressing path: a Neutron port's fixed IPs, their subnets (prefix, gateway, host
 * routes) and the network's MTU become a NicAddressing, and everything downstream takes that
 * record as it is: the plug installs it, the CNI result reports it, CHECK verifies it and the
 * agent's re-plug restores it. Nothing else works out an address, a gateway or a route.
 *
 *   const a = nicAddressing({ port, subnets, mtu: 1450 });
 *   a.ips;    // [{ address: '1.2.0.100', prefixLength: 16, family: 4, gateway: '1.2.0.1' }, …]
 *   a.routes; // [{ dst: '0.0.0.0/0', gateway: '1.2.0.1' }, { dst: '::/0', gateway: 'fd00:1::1' }]
 *
 * Pure: the caller fetches the port, its subnets and its network.
 */
import { NeutronError } from '../errors/index.ts';
import { canonicalCidr, cidrOf, type IpFamily, ipInCidr, parseCidr, parseIp } from './ip.ts';

export interface NicIp {
  address: string;
  prefixLength: number;
  family: IpFamily;
  /** The subnet's gateway, when it has one. */
  gateway?: string;
}

export interface NicRoute {
  /** Canonical network form: 0.0.0.0/0, ::/0, 10.96.0.0/12. */
  dst: string;
  gateway?: string;
  /** The next hop is on the link but outside every subnet of the NIC (`ip route … onlink`). */
  onlink?: boolean;
}

/** What a pod's NIC carries, as installed, reported, checked and restored. */
export interface NicAddressing {
  portId: string;
  networkId: string;
  mac: string;
  mtu: number;
  /** IPv4 first, then IPv6; within a family in the port's order. */
  ips: NicIp[];
  /** Default routes (one per family with a gateway), then host routes, then extra routes. */
  routes: NicRoute[];
}

export interface AddressingSubnet {
  id: string;
  cidr: string;
  gatewayIp: string | null;
  hostRoutes: { destination: string; nexthop: string }[];
}

export interface AddressingInput {
  port: {
    id: string;
    networkId: string;
    macAddress: string;
    fixedIps: { subnetId: string; ipAddress: string }[];
  };
  /** The subnets of the port's fixed IPs (others are ignored). */
  subnets: readonly AddressingSubnet[];
  mtu: number;
  /**
   * Whether this NIC carries the pod's default routes (default true). A pod's second NIC does
   * not: it routes its own subnets and their host routes only.
   */
  defaultRoutes?: boolean;
  /** Routes N-Net adds on top of Neutron's, e.g. the Service CIDR via the node's port. */
  extraRoutes?: readonly { dst: string; gateway?: string }[];
}

const DEFAULT_DST: Record<IpFamily, string> = { 4: '0.0.0.0/0', 6: '::/0' };

/**
 * The port's addressing. Fails when a fixed IP's subnet is not given or an
 * address or route in Neutron's reply does not parse (NeutronError 'bad-reply').
 */
export function nicAddressing(input: AddressingInput): NicAddressing {
  const { port } = input;
  const byId = new Map(input.subnets.map((s) => [s.id, s]));
  const withSubnet = port.fixedIps.map((f) => {
    const subnet = byId.get(f.subnetId);
    if (!subnet) throw badReply(`subnet ${f.subnetId} of port ${port.id} is unknown`);
    const ip = parseIp(f.ipAddress);
    const cidr = parseCidr(canonicalCidr(subnet.cidr) ?? subnet.cidr);
    if (!ip.ok || !cidr.ok || !ipInCidr(ip.value, cidr.value))
      throw badReply(`port ${port.id}: ${f.ipAddress} is not an address of subnet ${subnet.cidr}`);
    const gateway = subnet.gatewayIp === null ? undefined : parseIp(subnet.gatewayIp);
    const nicIp: NicIp = { address: ip.value.text, prefixLength: cidr.value.prefix, family: ip.value.family };
    if (gateway?.ok && gateway.value.family === ip.value.family) nicIp.gateway = gateway.value.text;
    return { nicIp, subnet };
  });
  const ordered = [
    ...withSubnet.filter((x) => x.nicIp.family === 4),
    ...withSubnet.filter((x) => x.nicIp.family === 6),
  ];
  const ips = ordered.map((x) => x.nicIp);
  const onLink = (gateway: string) => {
    const g = parseIp(gateway);
    return (
      g.ok &&
      ips.some(
        (i) =>
          i.family === g.value.family && ipInCidr(g.value, cidrOf(parseIpOrThrow(i.address), i.prefixLength)),
      )
    );
  };
  const route = (dst: string, gateway: string | undefined): NicRoute => {
    const r: NicRoute = { dst };
    if (gateway !== undefined) {
      r.gateway = gateway;
      if (!onLink(gateway)) r.onlink = true;
    }
    return r;
  };

  const routes: NicRoute[] = [];
  const seen = new Set<string>();
  const add = (r: NicRoute) => {
    if (seen.has(r.dst)) return; // the first route to a destination wins
    seen.add(r.dst);
    routes.push(r);
  };
  // A host route to the default destination replaces the gateway, as Neutron's DHCP would.
  const hostRoutes = ordered.flatMap(({ subnet }) =>
    subnet.hostRoutes.map((h) => {
      const dst = canonicalCidr(h.destination);
      const hop = parseIp(h.nexthop);
      if (!dst || !hop.ok || parseIpOrThrow(dst.split('/')[0]!).family !== hop.value.family)
        throw badReply(`subnet ${subnet.id} has a bad host route ${h.destination} via ${h.nexthop}`);
      return route(dst, hop.value.text);
    }),
  );
  if (input.defaultRoutes ?? true) {
    for (const family of [4, 6] as const) {
      const hostDefault = hostRoutes.find((r) => r.dst === DEFAULT_DST[family]);
      const gateway = ips.find((i) => i.family === family && i.gateway)?.gateway;
      if (hostDefault) add(hostDefault);
      else if (gateway) add(route(DEFAULT_DST[family], gateway));
    }
  }
  for (const r of hostRoutes) if (r.dst !== DEFAULT_DST[4] && r.dst !== DEFAULT_DST[6]) add(r);
  for (const r of input.extraRoutes ?? []) add(route(canonicalCidr(r.dst) ?? r.dst, r.gateway));

  return {
    portId: port.id,
    networkId: port.networkId,
    mac: port.macAddress.toLowerCase(),
    mtu: input.mtu,
    ips,
    routes,
  };
}

function parseIpOrThrow(text: string) {
  const p = parseIp(text);
  if (!p.ok) throw badReply(`"${text}" is not an IP address`);
  return p.value;
}

function badReply(why: string): NeutronError {
  return new NeutronError('bad-reply', `unexpected reply from Neutron: ${why}`);
}
