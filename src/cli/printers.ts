/**
 * How each N-Net resource looks on the command line: the plain view records handlers fill from
 * the store and Neutron, their table columns (normal and -o wide), their -o json/yaml objects
 * and their describe blocks.
 */
import type { DescribeEntry, ResourcePrinter } from './format.ts';
import { ageOf } from './format.ts';
import type { AllocationPool, Noun } from './types.ts';

export const API_VERSION = 'nnet.io/v1';

export interface SubnetRef {
  id: string;
  name: string;
  cidr: string;
}

export interface NetworkView {
  name: string;
  id: string;
  /** Neutron's status; "Missing" when N-Net's record names a network Neutron no longer has. */
  status: string;
  mtu?: number;
  subnets: SubnetRef[];
  /** The N-Net cluster that manages it; undefined: not N-Net's (get --all). */
  cluster?: string;
  shared?: boolean;
  external?: boolean;
  description?: string;
  createdAt?: string;
  /** Ports on it other than Neutron's own (describe only). */
  usedBy?: string[];
}

export interface SubnetView {
  name: string;
  id: string;
  network: string;
  networkId: string;
  cidr: string;
  gateway: string | null;
  allocationPools: AllocationPool[];
  dns: string[];
  dhcp: boolean;
  status?: string;
  cluster?: string;
  description?: string;
  createdAt?: string;
  usedBy?: string[];
}

export interface RouterView {
  name: string;
  id: string;
  status: string;
  /** The subnets it connects. */
  subnets: SubnetRef[];
  externalNetwork?: string;
  cluster?: string;
  description?: string;
  createdAt?: string;
}

/** A registered cluster; never holds a secret. */
export interface ClusterView {
  name: string;
  authUrl: string;
  /** The user name, `application-credential/<id>`, or the nodes' credentials file. */
  user: string;
  /** Where the secret lives. */
  credentials: string;
  userDomain?: string;
  project?: string;
  projectDomain?: string;
  region?: string;
  interface?: string;
  /** Name (when N-Net manages it) or id. */
  defaultNetwork?: string;
  defaultSubnet?: string;
  /** The Service CIDRs pods route through their node (the default when the cluster sets none). */
  serviceCidrs: string[];
  /** The security groups (ids) of pods that choose none; undefined: the project's default group. */
  securityGroups?: string[];
  /** The nodes' warm port pools; undefined: none. */
  pool?: { min: number; max: number; batch: number };
  createdAt?: string;
}

export interface PodNetworkView {
  namespace: string;
  pod: string;
  cluster: string;
  /** The Keystone project that made it (absent for configs recorded before it was kept). */
  projectId?: string;
  /** What was asked for: the network, a subnet per IP family (IPv4 first), the static IPs. */
  network?: { id: string; name: string };
  subnets: SubnetRef[];
  wantedIps: string[];
  wantedMac?: string;
  /** What there is: the reserved port, its addresses, where it is bound. */
  portId?: string;
  ips: string[];
  mac?: string;
  node?: string;
  container?: string;
  /** Reserved (port unbound), ACTIVE/DOWN/BUILD (bound: Neutron's port status), PortMissing. */
  status: string;
  /** The pod's other NICs (net1, …): each its network and its port's addresses. */
  extraNics: { ifname: string; network: string; ips: string[] }[];
  /** The pod's own security groups, as asked for (none: the cluster's set). */
  wantedSecurityGroups: GroupRef[];
  /** The groups its port carries, as Neutron says (the node-access group among them once bound). */
  securityGroups: GroupRef[];
  createdAt?: string;
}

export interface GroupRef {
  id: string;
  name: string;
}

const groupNames = (values: readonly GroupRef[]) => values.map((g) => g.name || g.id).join(',');

const cidrs = (values: readonly SubnetRef[]) => values.map((s) => s.cidr).join(',');
const list = (values: readonly string[]) => values.join(',');
const pools = (values: readonly AllocationPool[]) => values.map((p) => `${p.start}-${p.end}`).join(',');
const subnetText = (s: SubnetRef) => (s.name ? `${s.name} (${s.cidr})` : s.cidr);

function metadata(name: string, extra: { id?: string; namespace?: string; createdAt?: string }) {
  return {
    name,
    ...(extra.namespace !== undefined ? { namespace: extra.namespace } : {}),
    ...(extra.id !== undefined ? { uid: extra.id } : {}),
    ...(extra.createdAt !== undefined ? { creationTimestamp: extra.createdAt } : {}),
  };
}

function defined(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
}

export const networkPrinter: ResourcePrinter<NetworkView> = {
  noun: 'network',
  name: (n) => n.name,
  columns: [
    { header: 'NAME', cell: (n) => n.name },
    { header: 'SUBNETS', cell: (n) => cidrs(n.subnets) },
    { header: 'STATUS', cell: (n) => n.status },
    { header: 'AGE', cell: (n, now) => ageOf(n.createdAt, now) },
    { header: 'MTU', cell: (n) => (n.mtu === undefined ? '' : String(n.mtu)), wide: true },
    { header: 'ID', cell: (n) => n.id, wide: true },
    { header: 'CLUSTER', cell: (n) => n.cluster ?? '', wide: true },
  ],
  toObject: (n) => ({
    apiVersion: API_VERSION,
    kind: 'Network',
    metadata: metadata(n.name, n),
    spec: defined({
      mtu: n.mtu,
      description: n.description,
      cluster: n.cluster,
      shared: n.shared,
      external: n.external,
    }),
    status: defined({ status: n.status, subnets: n.subnets }),
  }),
};

export const subnetPrinter: ResourcePrinter<SubnetView> = {
  noun: 'subnet',
  name: (s) => s.name,
  columns: [
    { header: 'NAME', cell: (s) => s.name },
    { header: 'NETWORK', cell: (s) => s.network },
    { header: 'CIDR', cell: (s) => s.cidr },
    { header: 'GATEWAY', cell: (s) => s.gateway ?? '' },
    { header: 'AGE', cell: (s, now) => ageOf(s.createdAt, now) },
    { header: 'DHCP', cell: (s) => String(s.dhcp), wide: true },
    { header: 'ALLOCATION-POOLS', cell: (s) => pools(s.allocationPools), wide: true },
    { header: 'DNS', cell: (s) => list(s.dns), wide: true },
    { header: 'ID', cell: (s) => s.id, wide: true },
    { header: 'CLUSTER', cell: (s) => s.cluster ?? '', wide: true },
  ],
  toObject: (s) => ({
    apiVersion: API_VERSION,
    kind: 'Subnet',
    metadata: metadata(s.name, s),
    spec: defined({
      network: s.network,
      networkId: s.networkId,
      cidr: s.cidr,
      gateway: s.gateway,
      allocationPools: s.allocationPools,
      dns: s.dns,
      dhcp: s.dhcp,
      description: s.description,
      cluster: s.cluster,
    }),
    ...(s.status !== undefined ? { status: { status: s.status } } : {}),
  }),
};

export const routerPrinter: ResourcePrinter<RouterView> = {
  noun: 'router',
  name: (r) => r.name,
  columns: [
    { header: 'NAME', cell: (r) => r.name },
    { header: 'SUBNETS', cell: (r) => cidrs(r.subnets) },
    { header: 'STATUS', cell: (r) => r.status },
    { header: 'AGE', cell: (r, now) => ageOf(r.createdAt, now) },
    { header: 'EXTERNAL-NETWORK', cell: (r) => r.externalNetwork ?? '', wide: true },
    { header: 'ID', cell: (r) => r.id, wide: true },
    { header: 'CLUSTER', cell: (r) => r.cluster ?? '', wide: true },
  ],
  toObject: (r) => ({
    apiVersion: API_VERSION,
    kind: 'Router',
    metadata: metadata(r.name, r),
    spec: defined({ externalNetwork: r.externalNetwork, description: r.description, cluster: r.cluster }),
    status: defined({ status: r.status, subnets: r.subnets }),
  }),
};

export const clusterPrinter: ResourcePrinter<ClusterView> = {
  noun: 'cluster',
  name: (c) => c.name,
  columns: [
    { header: 'NAME', cell: (c) => c.name },
    { header: 'AUTH-URL', cell: (c) => c.authUrl },
    { header: 'USER', cell: (c) => c.user },
    { header: 'PROJECT', cell: (c) => c.project ?? '' },
    { header: 'REGION', cell: (c) => c.region ?? '' },
    { header: 'DEFAULT-NETWORK', cell: (c) => c.defaultNetwork ?? '' },
    { header: 'AGE', cell: (c, now) => ageOf(c.createdAt, now) },
    { header: 'DEFAULT-SUBNET', cell: (c) => c.defaultSubnet ?? '', wide: true },
    { header: 'INTERFACE', cell: (c) => c.interface ?? '', wide: true },
    { header: 'SERVICE-CIDR', cell: (c) => c.serviceCidrs.join(','), wide: true },
    { header: 'POOL(MIN/MAX/BATCH)', cell: (c) => poolText(c.pool), wide: true },
    { header: 'POD-SECURITY-GROUPS', cell: (c) => (c.securityGroups ?? ['default']).join(','), wide: true },
  ],
  toObject: (c) => ({
    apiVersion: API_VERSION,
    kind: 'Cluster',
    metadata: metadata(c.name, c),
    spec: defined({
      authUrl: c.authUrl,
      user: c.user,
      userDomain: c.userDomain,
      project: c.project,
      projectDomain: c.projectDomain,
      credentials: c.credentials,
      region: c.region,
      interface: c.interface,
      defaultNetwork: c.defaultNetwork,
      defaultSubnet: c.defaultSubnet,
      serviceCidrs: c.serviceCidrs,
      podSecurityGroups: c.securityGroups,
      pool: c.pool,
    }),
  }),
};

const poolText = (p: ClusterView['pool']) => (p ? `${p.min}/${p.max}/${p.batch}` : 'off');

/** One warm pool of one node, as its agent last recorded it. */
export interface PoolView {
  node: string;
  /** The network's name (when N-Net manages it) or id. */
  network: string;
  networkId: string;
  subnets: string[];
  securityGroups: string[];
  ready: number;
  inUse: number;
  target: number;
  max: number;
  /** Why refill stopped (quota), if it did. */
  refillError?: string;
  createdAt: string;
  updatedAt: string;
}

export const poolPrinter: ResourcePrinter<PoolView> = {
  noun: 'pool',
  name: (p) => `${p.node}/${p.network}`,
  columns: [
    { header: 'NODE', cell: (p) => p.node },
    { header: 'NETWORK', cell: (p) => p.network },
    { header: 'READY', cell: (p) => String(p.ready) },
    { header: 'IN-USE', cell: (p) => String(p.inUse) },
    { header: 'TARGET', cell: (p) => String(p.target) },
    { header: 'AGE', cell: (p, now) => ageOf(p.createdAt, now) },
    { header: 'MAX', cell: (p) => String(p.max), wide: true },
    { header: 'SUBNETS', cell: (p) => list(p.subnets), wide: true },
    { header: 'SECURITY-GROUPS', cell: (p) => list(p.securityGroups), wide: true },
    { header: 'UPDATED', cell: (p, now) => ageOf(p.updatedAt, now), wide: true },
    { header: 'REFILL', cell: (p) => (p.refillError ? `stopped: ${p.refillError}` : 'ok'), wide: true },
  ],
  toObject: (p) => ({
    apiVersion: API_VERSION,
    kind: 'Pool',
    metadata: { name: `${p.node}/${p.network}`, creationTimestamp: p.createdAt },
    spec: {
      node: p.node,
      network: p.network,
      networkId: p.networkId,
      subnets: p.subnets,
      securityGroups: p.securityGroups,
      target: p.target,
      max: p.max,
    },
    status: defined({ ready: p.ready, inUse: p.inUse, refillError: p.refillError, updatedAt: p.updatedAt }),
  }),
};

const podIp = (p: PodNetworkView) => list(p.ips.length > 0 ? p.ips : p.wantedIps);

export const podNetworkPrinter: ResourcePrinter<PodNetworkView> = {
  noun: 'podnetwork',
  name: (p) => p.pod,
  columns: [
    { header: 'NAMESPACE', cell: (p) => p.namespace },
    { header: 'NAME', cell: (p) => p.pod },
    { header: 'SUBNET', cell: (p) => cidrs(p.subnets) },
    { header: 'IP', cell: podIp },
    { header: 'PORT', cell: (p) => p.portId ?? '' },
    { header: 'NODE', cell: (p) => p.node ?? '' },
    { header: 'STATUS', cell: (p) => p.status },
    { header: 'AGE', cell: (p, now) => ageOf(p.createdAt, now) },
    { header: 'MAC', cell: (p) => p.mac ?? p.wantedMac ?? '', wide: true },
    { header: 'NETWORK', cell: (p) => p.network?.name || p.network?.id || '', wide: true },
    { header: 'CONTAINER', cell: (p) => p.container ?? '', wide: true },
    {
      header: 'SECURITY-GROUPS',
      cell: (p) => groupNames(p.portId ? p.securityGroups : p.wantedSecurityGroups),
      wide: true,
    },
  ],
  toObject: (p) => ({
    apiVersion: API_VERSION,
    kind: 'PodNetwork',
    metadata: metadata(p.pod, p),
    // subnet and ip: the first (IPv4 when there is one), as Kubernetes keeps podIP next to podIPs.
    spec: defined({
      cluster: p.cluster,
      projectId: p.projectId,
      network: p.network,
      subnet: p.subnets[0],
      subnets: p.subnets,
      ip: p.wantedIps[0],
      ips: p.wantedIps,
      mac: p.wantedMac,
      securityGroups: p.wantedSecurityGroups.length > 0 ? p.wantedSecurityGroups : undefined,
      extraNics: p.extraNics.length > 0 ? p.extraNics : undefined,
    }),
    status: defined({
      status: p.status,
      portId: p.portId,
      ips: p.ips,
      mac: p.mac,
      securityGroups: p.portId ? p.securityGroups : undefined,
      node: p.node,
      containerId: p.container,
    }),
  }),
};

export const PRINTERS = {
  network: networkPrinter,
  subnet: subnetPrinter,
  router: routerPrinter,
  cluster: clusterPrinter,
  podnetwork: podNetworkPrinter,
  pool: poolPrinter,
} as const satisfies Record<Noun, ResourcePrinter<never>>;

/** describe's blocks, one per noun. */
export function describeNetwork(n: NetworkView): DescribeEntry[] {
  return [
    ['Name', n.name],
    ['ID', n.id],
    ['Cluster', n.cluster ?? ''],
    ['Status', n.status],
    ['MTU', n.mtu === undefined ? '' : String(n.mtu)],
    ['Subnets', n.subnets.map(subnetText)],
    ['Used By', n.usedBy ?? []],
    ['Description', n.description ?? ''],
  ];
}

export function describeSubnet(s: SubnetView): DescribeEntry[] {
  return [
    ['Name', s.name],
    ['ID', s.id],
    ['Cluster', s.cluster ?? ''],
    ['Network', s.network],
    ['CIDR', s.cidr],
    ['Gateway', s.gateway ?? ''],
    ['DHCP', String(s.dhcp)],
    ['Allocation Pools', s.allocationPools.map((p) => `${p.start}-${p.end}`)],
    ['DNS', s.dns],
    ['Used By', s.usedBy ?? []],
    ['Description', s.description ?? ''],
  ];
}

export function describeRouter(r: RouterView): DescribeEntry[] {
  return [
    ['Name', r.name],
    ['ID', r.id],
    ['Cluster', r.cluster ?? ''],
    ['Status', r.status],
    ['External Network', r.externalNetwork ?? ''],
    ['Subnets', r.subnets.map(subnetText)],
    ['Description', r.description ?? ''],
  ];
}

export function describeCluster(c: ClusterView): DescribeEntry[] {
  return [
    ['Name', c.name],
    ['Auth URL', c.authUrl],
    ['User', c.userDomain ? `${c.user} (domain ${c.userDomain})` : c.user],
    ['Project', c.project ? `${c.project}${c.projectDomain ? ` (domain ${c.projectDomain})` : ''}` : ''],
    ['Credentials', c.credentials],
    ['Region', c.region ?? ''],
    ['Interface', c.interface ?? ''],
    ['Default Network', c.defaultNetwork ?? ''],
    ['Default Subnet', c.defaultSubnet ?? ''],
    ['Service CIDRs', c.serviceCidrs.join(', ')],
    ['Pod Security Groups', c.securityGroups ? c.securityGroups.join(', ') : "the project's default"],
    ['Port pools', c.pool ? `min ${c.pool.min}, max ${c.pool.max}, batch ${c.pool.batch}` : 'off'],
  ];
}

export function describePodNetwork(p: PodNetworkView): DescribeEntry[] {
  return [
    ['Name', p.pod],
    ['Namespace', p.namespace],
    ['Cluster', p.cluster],
    ['Project', p.projectId ?? ''],
    [
      'Requested',
      [
        ['Network', p.network ? p.network.name || p.network.id : ''],
        ['Subnets', p.subnets.map(subnetText)],
        ['IPs', p.wantedIps],
        ['MAC', p.wantedMac ?? ''],
        [
          'Security Groups',
          p.wantedSecurityGroups.length > 0 ? groupNames(p.wantedSecurityGroups) : "(the cluster's)",
        ],
      ],
    ],
    [
      'Port',
      [
        ['ID', p.portId ?? ''],
        ['IPs', p.ips],
        ['MAC', p.mac ?? ''],
        ['Security Groups', groupNames(p.securityGroups)],
        ...p.extraNics.map((n): [string, string] => [n.ifname, `${n.network} ${n.ips.join(', ')}`.trim()]),
        ['Node', p.node ?? ''],
        ['Container', p.container ?? ''],
        ['Status', p.status],
      ],
    ],
  ];
}
