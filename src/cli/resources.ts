/**
 * How each N-Net resource looks on the command line: the plain view records handlers fill from
 * the store and Neutron, their table columns (normal and -o wide), their -o json/yaml objects
 * and their describe blocks.
 */
import type { DescribeEntry, ResourcePrinter } from './format.ts';
import { ageOf } from './format.ts';
import type { AllocationPool, Noun } from './types.ts';

export const API_VERSION = 'nnet.io/v1';

export interface NetworkView {
  name: string;
  id: string;
  status?: string;
  mtu?: number;
  /** Subnet names (or CIDRs). */
  subnets: string[];
  cluster?: string;
  description?: string;
  createdAt?: string;
}

export interface SubnetView {
  name: string;
  id: string;
  network: string;
  cidr: string;
  gateway: string | null;
  allocationPools: AllocationPool[];
  dns: string[];
  dhcp: boolean;
  cluster?: string;
  description?: string;
  createdAt?: string;
}

export interface RouterView {
  name: string;
  id: string;
  status?: string;
  subnets: string[];
  externalNetwork?: string;
  cluster?: string;
  description?: string;
  createdAt?: string;
}

/** A registered cluster; never holds a secret. */
export interface ClusterView {
  name: string;
  authUrl: string;
  project?: string;
  region?: string;
  /** Where its credentials come from: clouds.yaml entry, application credential, password… */
  credentials: string;
  defaultNetwork?: string;
  defaultSubnet?: string;
  createdAt?: string;
}

export interface PodNetworkView {
  namespace: string;
  pod: string;
  network?: string;
  subnet?: string;
  ip?: string;
  mac?: string;
  portId?: string;
  node?: string;
  /** reserved | bound | … */
  status?: string;
  cluster?: string;
  createdAt?: string;
}

const list = (values: readonly string[]) => values.join(',');
const pools = (values: readonly AllocationPool[]) => values.map((p) => `${p.start}-${p.end}`).join(',');

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
    { header: 'SUBNETS', cell: (n) => list(n.subnets) },
    { header: 'STATUS', cell: (n) => n.status ?? '' },
    { header: 'AGE', cell: (n, now) => ageOf(n.createdAt, now) },
    { header: 'MTU', cell: (n) => (n.mtu === undefined ? '' : String(n.mtu)), wide: true },
    { header: 'ID', cell: (n) => n.id, wide: true },
    { header: 'CLUSTER', cell: (n) => n.cluster ?? '', wide: true },
  ],
  toObject: (n) => ({
    apiVersion: API_VERSION,
    kind: 'Network',
    metadata: metadata(n.name, n),
    spec: defined({ mtu: n.mtu, description: n.description, cluster: n.cluster }),
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
  ],
  toObject: (s) => ({
    apiVersion: API_VERSION,
    kind: 'Subnet',
    metadata: metadata(s.name, s),
    spec: defined({
      network: s.network,
      cidr: s.cidr,
      gateway: s.gateway,
      allocationPools: s.allocationPools,
      dns: s.dns,
      dhcp: s.dhcp,
      description: s.description,
      cluster: s.cluster,
    }),
  }),
};

export const routerPrinter: ResourcePrinter<RouterView> = {
  noun: 'router',
  name: (r) => r.name,
  columns: [
    { header: 'NAME', cell: (r) => r.name },
    { header: 'SUBNETS', cell: (r) => list(r.subnets) },
    { header: 'STATUS', cell: (r) => r.status ?? '' },
    { header: 'AGE', cell: (r, now) => ageOf(r.createdAt, now) },
    { header: 'EXTERNAL-NETWORK', cell: (r) => r.externalNetwork ?? '', wide: true },
    { header: 'ID', cell: (r) => r.id, wide: true },
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
    { header: 'PROJECT', cell: (c) => c.project ?? '' },
    { header: 'DEFAULT-NETWORK', cell: (c) => c.defaultNetwork ?? '' },
    { header: 'AGE', cell: (c, now) => ageOf(c.createdAt, now) },
    { header: 'REGION', cell: (c) => c.region ?? '', wide: true },
    { header: 'CREDENTIALS', cell: (c) => c.credentials, wide: true },
    { header: 'DEFAULT-SUBNET', cell: (c) => c.defaultSubnet ?? '', wide: true },
  ],
  toObject: (c) => ({
    apiVersion: API_VERSION,
    kind: 'Cluster',
    metadata: metadata(c.name, c),
    spec: defined({
      authUrl: c.authUrl,
      project: c.project,
      region: c.region,
      credentials: c.credentials,
      defaultNetwork: c.defaultNetwork,
      defaultSubnet: c.defaultSubnet,
    }),
  }),
};

export const podNetworkPrinter: ResourcePrinter<PodNetworkView> = {
  noun: 'podnetwork',
  name: (p) => p.pod,
  columns: [
    { header: 'NAME', cell: (p) => p.pod },
    { header: 'SUBNET', cell: (p) => p.subnet ?? '' },
    { header: 'IP', cell: (p) => p.ip ?? '' },
    { header: 'STATUS', cell: (p) => p.status ?? '' },
    { header: 'AGE', cell: (p, now) => ageOf(p.createdAt, now) },
    { header: 'NETWORK', cell: (p) => p.network ?? '', wide: true },
    { header: 'MAC', cell: (p) => p.mac ?? '', wide: true },
    { header: 'NODE', cell: (p) => p.node ?? '', wide: true },
    { header: 'PORT', cell: (p) => p.portId ?? '', wide: true },
  ],
  toObject: (p) => ({
    apiVersion: API_VERSION,
    kind: 'PodNetwork',
    metadata: metadata(p.pod, p),
    spec: defined({ network: p.network, subnet: p.subnet, ip: p.ip, cluster: p.cluster }),
    status: defined({ status: p.status, mac: p.mac, portId: p.portId, node: p.node }),
  }),
};

export const PRINTERS = {
  network: networkPrinter,
  subnet: subnetPrinter,
  router: routerPrinter,
  cluster: clusterPrinter,
  podnetwork: podNetworkPrinter,
} as const satisfies Record<Noun, ResourcePrinter<never>>;

/** describe's blocks, one per noun. */
export function describeNetwork(n: NetworkView): DescribeEntry[] {
  return [
    ['Name', n.name],
    ['ID', n.id],
    ['Status', n.status ?? ''],
    ['MTU', n.mtu === undefined ? '' : String(n.mtu)],
    ['Subnets', n.subnets],
    ['Cluster', n.cluster ?? ''],
    ['Description', n.description ?? ''],
  ];
}

export function describeRouter(r: RouterView): DescribeEntry[] {
  return [
    ['Name', r.name],
    ['ID', r.id],
    ['Status', r.status ?? ''],
    ['External Network', r.externalNetwork ?? ''],
    ['Subnets', r.subnets],
    ['Cluster', r.cluster ?? ''],
    ['Description', r.description ?? ''],
  ];
}

export function describeCluster(c: ClusterView): DescribeEntry[] {
  return [
    ['Name', c.name],
    ['Auth URL', c.authUrl],
    ['Project', c.project ?? ''],
    ['Region', c.region ?? ''],
    ['Credentials', c.credentials],
    ['Default Network', c.defaultNetwork ?? ''],
    ['Default Subnet', c.defaultSubnet ?? ''],
  ];
}

export function describeSubnet(s: SubnetView): DescribeEntry[] {
  return [
    ['Name', s.name],
    ['ID', s.id],
    ['Network', s.network],
    ['CIDR', s.cidr],
    ['Gateway', s.gateway ?? ''],
    ['DHCP', String(s.dhcp)],
    ['Allocation Pools', s.allocationPools.map((p) => `${p.start}-${p.end}`)],
    ['DNS', s.dns],
    ['Cluster', s.cluster ?? ''],
    ['Description', s.description ?? ''],
  ];
}

export function describePodNetwork(p: PodNetworkView): DescribeEntry[] {
  return [
    ['Name', p.pod],
    ['Namespace', p.namespace],
    ['Network', p.network ?? ''],
    ['Subnet', p.subnet ?? ''],
    ['IP', p.ip ?? ''],
    ['MAC', p.mac ?? ''],
    ['Port', p.portId ?? ''],
    ['Node', p.node ?? ''],
    ['Status', p.status ?? ''],
  ];
}
