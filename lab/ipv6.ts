/**
 * The lab's IPv6 half (issue 12): every lab network gets an IPv6 subnet beside its IPv4 one, so
 * every pod is dual-stack, and experiment 2 pings its four pairs again over IPv6. The subnets use
 * DHCPv6-stateful addressing (the mode OVN serves a fixed address with; SLAAC would derive the
 * address from the MAC) and an explicit gateway: Neutron's default IPv6 gateway is the
 * subnet-router anycast address (fd00:1::), which the router cannot take as its own.
 */
import type { PingResult } from './lab.ts';

export interface Ipv6Subnet {
  /** The subnet's name without the lab's prefix. */
  name: string;
  /** The lab network it goes on, without the prefix. */
  network: string;
  cidr: string;
  gateway: string;
  /** Where Neutron allocates from: above the pods' static addresses (see createNetworks). */
  pool: string;
}

export const IPV6_SUBNETS: readonly Ipv6Subnet[] = [
  {
    name: 'sub1-v6',
    network: 'net1',
    cidr: 'fd00:1::/64',
    gateway: 'fd00:1::1',
    pool: 'fd00:1::1:0-fd00:1::1:ffff',
  },
  {
    name: 'sub2-v6',
    network: 'net2',
    cidr: 'fd00:10::/64',
    gateway: 'fd00:10::1',
    pool: 'fd00:10::1:0-fd00:10::1:ffff',
  },
];

/** The kubenetctl commands that add the IPv6 subnets and join them to the lab's router. */
export function ipv6SubnetCommands(prefix: string): string[][] {
  return IPV6_SUBNETS.flatMap((s) => [
    [
      'create',
      'subnet',
      `${prefix}-${s.name}`,
      '--network',
      `${prefix}-${s.network}`,
      '--cidr',
      s.cidr,
      '--ip-version',
      '6',
      '--ipv6-address-mode',
      'dhcpv6-stateful',
      '--gateway',
      s.gateway,
      '--allocation-pool',
      s.pool,
    ],
    ['connect', 'router', `${prefix}-router`, '--subnet', `${prefix}-${s.name}`],
  ]);
}

interface DualStackPod {
  label: string;
  name: string;
  node: unknown;
  subnet: string;
  ip6?: string | undefined;
}

/** Experiment 2's pairs again, over IPv6 (`ping -6` to the destination pod's IPv6 address). */
export async function ipv6Pings<P extends DualStackPod>(
  pairs: readonly [P, P][],
  ping: (from: P, toIp: string) => Promise<{ ok: boolean; rttMs: number | undefined }>,
): Promise<PingResult[]> {
  const out: PingResult[] = [];
  for (const [a, b] of pairs) {
    if (!b.ip6) throw new Error(`${b.name} has no IPv6 address`);
    const r = await ping(a, b.ip6);
    out.push({
      pair: `${a.label} → ${b.label}`,
      family: 'IPv6',
      from: a.name,
      to: b.name,
      toIp: b.ip6,
      hosts: a.node === b.node ? 'same host' : 'different hosts',
      subnets: a.subnet === b.subnet ? 'same subnet' : 'different subnets',
      ok: r.ok,
      rttMs: r.rttMs,
    });
  }
  return out;
}
