/**
 * The records N-Net keeps, their zod schemas (used on every write and on every read back), and
 * the table descriptors both backends lay their rows out by.
 */
import { z } from 'zod';

/**
 * Keystone credentials of a cluster. `node-file` is a reference: every node has that file (a
 * clouds.yaml with `cloud`, or an openrc), mode 0600, and the store never sees the secret. The
 * other two hold the secret itself; they are what older N-Net versions stored, still read until
 * `kubenetctl create cluster NAME --migrate-credentials` replaces them. Never log them.
 */
export type ClusterCredentials =
  | {
      type: 'node-file';
      path: string;
      cloud?: string;
      /** Who the file logged in as when the cluster was registered (names only, for display). */
      user?: string;
      project?: string;
    }
  | {
      type: 'password';
      username: string;
      userDomain: string;
      password: string;
      projectName: string;
      projectDomain: string;
    }
  | { type: 'application_credential'; id: string; secret: string };

/** A Kubernetes cluster's Keystone identity; the CNI plugin authenticates the cluster with it. */
export interface Cluster {
  name: string;
  authUrl: string;
  region?: string;
  interface?: 'public' | 'internal' | 'admin';
  credentials: ClusterCredentials;
  defaultNetworkId?: string;
  defaultSubnetId?: string;
  /** Kubernetes' Service CIDRs (kube-apiserver --service-cluster-ip-range), one per family. */
  serviceCidrs?: string[];
  /**
   * The security group every pod port carries, which admits the nodes' own ports: one ingress rule
   * per node port address (`rules: 'per-node-ip'`). A record of an older N-Net (an address group,
   * which this ML2/OVN does not enforce) has no `rules`: a new group is made.
   */
  nodeAccess?: { securityGroupId: string; rules?: 'per-node-ip'; addressGroupId?: string };
  /** Held by the one process making the node-access objects, so that only one makes them. */
  nodeAccessLease?: { holder: string; until: string };
  /** The security groups of pods that ask for none (default: the project's `default` group). */
  podSecurityGroupIds?: string[];
  /** Each node's warm port pools (absent: no pools). */
  pool?: PoolSettings;
  /** Networks N-Net does not manage that the cluster's pods may use anyway (besides the default). */
  allowedNetworkIds?: string[];
  createdAt: string;
}

/**
 * A cluster's port pool settings, for every node × network × security-group set: the agent keeps
 * at least `min` ports ready (made `batch` at a time, in one Neutron request), and a DEL returns
 * its port to the pool while fewer than `max` are ready (beyond, the port is deleted).
 */
export interface PoolSettings {
  min: number;
  max: number;
  batch: number;
}

export const POOL_LIMITS = { max: 256, batch: 64 } as const;

/** Kubernetes' default Service CIDR (kube-apiserver's --service-cluster-ip-range default). */
export const DEFAULT_SERVICE_CIDRS: readonly string[] = ['10.96.0.0/12'];

export type ResourceKind = 'network' | 'subnet' | 'router';

/** A Neutron network, subnet or router that N-Net manages for a cluster. Keyed by (kind, id). */
export interface ManagedResource {
  kind: ResourceKind;
  id: string;
  name: string;
  cluster: string;
  cidr?: string;
  networkId?: string;
  createdAt: string;
}

/** One NIC of a pod as kubenetctl resolved it: its network, a subnet per family, static IPs. */
export interface PodNicConfig {
  /** The pod's interface: eth0, then net1, net2, … */
  ifname: string;
  networkId: string;
  /** One per IP family, IPv4 first; `ip` when a static IP was asked for. */
  fixedIps: { subnetId: string; ip?: string }[];
  mac?: string;
  /** The port that holds the reservation (created unbound at request time). */
  reservedPortId?: string;
  /** The pod's own security groups (ids, resolved at request time); absent: the cluster's default set. */
  securityGroupIds?: string[];
}

/** What kubenetctl asked for a pod (and the ports it reserved). Keyed by (cluster, namespace, pod). */
export interface PodNetworkConfig {
  cluster: string;
  namespace: string;
  pod: string;
  /**
   * The Keystone project of the user who made it (their token's project id): only that project's
   * users may see, change or delete it. Absent in rows written before it was recorded; kubenetctl
   * then takes the project of the row's reserved ports as the owner (src/cli/ownership.ts).
   */
  projectId?: string;
  nics: PodNicConfig[];
  createdAt: string;
  updatedAt: string;
}

export interface AttachmentIp {
  address: string;
  prefixLength: number;
  gateway?: string;
}

export interface AttachmentRoute {
  dst: string;
  gateway?: string;
  onlink?: boolean;
}

/** What an ADD plugged, so DEL/CHECK and the agent can find it. Keyed by (containerId, ifname). */
export interface Attachment {
  containerId: string;
  ifname: string;
  cluster: string;
  namespace: string;
  pod: string;
  podUid?: string;
  netns: string;
  node: string;
  portId: string;
  portCreatedByAdd: boolean;
  /** The port's network (absent in records written before it was kept). */
  networkId?: string;
  ips: AttachmentIp[];
  /** The routes ADD installed on the NIC, as it reported and CHECK verifies them. */
  routes: AttachmentRoute[];
  mac: string;
  mtu: number;
  plugDriver: string;
  ovsPort: string;
  /** The pool the port came from (its key, poolKeyText); DEL gives it back instead of deleting it. */
  pool?: string;
  /**
   * A pod's extra NIC from its network config (net1, …): the ifname of the NIC whose ADD made it
   * (eth0). Its DEL, CHECK and GC take this one along; a runtime never names it.
   */
  via?: string;
  /** Nested mode: the port is a subport of the node's trunk, with this VLAN ID. */
  subport?: { trunkId: string; vlan: number };
  createdAt: string;
}

/**
 * One of a node's own ports on a pod network, plugged as an OVS internal port that stays in the
 * node's network namespace: how the node (kubelet probes, hostNetwork pods) reaches pods, and the
 * next hop that carries pods' Service traffic through the node's netfilter (kube-proxy).
 */
export interface NodePort {
  networkId: string;
  portId: string;
  /** Its device in the node's netns (nnh…). */
  device: string;
  mac: string;
  mtu: number;
  ips: AttachmentIp[];
  /** Routes in the node's netns through this port: the network's other subnets. */
  routes: AttachmentRoute[];
  /** A VM node's (nested mode): the port is a subport of the VM's trunk, with this VLAN ID. */
  subport?: { trunkId: string; vlan: number };
}

/** One warm port pool of a node, as its agent last recorded it (for `kubenetctl get pools`). */
export interface PoolRecord {
  networkId: string;
  subnetIds: string[];
  securityGroupIds: string[];
  /** Made, bound, plugged and claimed by OVN: an ADD takes one of these. */
  ready: number;
  /** Held by pods now. */
  inUse: number;
  /** The ready ports refill aims for (the cluster's min), and the most it keeps (max). */
  target: number;
  max: number;
  /** Why refill stopped (e.g. the project's port quota), until it works again. */
  refillError?: string;
  createdAt: string;
  updatedAt: string;
}

/** A node of a cluster as N-Net knows it: its own ports, its pools. Keyed by (cluster, name). */
export interface NodeRecord {
  cluster: string;
  name: string;
  ports: NodePort[];
  pools?: PoolRecord[];
  /** When the node's agent last reported in (its reconcile): a node silent for long has left. */
  seenAt?: string;
  /** How long the node's agent lets pass between reports (its reconcile interval, ms). */
  reportEveryMs?: number;
  createdAt: string;
  updatedAt: string;
}

/** What callers write: the store sets the timestamps. */
export type ClusterInput = Omit<Cluster, 'createdAt'>;
export type ManagedResourceInput = Omit<ManagedResource, 'createdAt'>;
export type PodNetworkConfigInput = Omit<PodNetworkConfig, 'createdAt' | 'updatedAt'>;
export type AttachmentInput = Omit<Attachment, 'createdAt'>;
export type NodeRecordInput = Omit<NodeRecord, 'createdAt' | 'updatedAt'>;
export type NodeKey = Pick<NodeRecord, 'cluster' | 'name'>;

export type ResourceKey = Pick<ManagedResource, 'kind' | 'id'>;
export type PodKey = Pick<PodNetworkConfig, 'cluster' | 'namespace' | 'pod'>;
export type AttachmentKey = Pick<Attachment, 'containerId' | 'ifname'>;

const name = z.string().min(1).max(253);
const timestamp = z.iso.datetime();
const ip = z.union([z.ipv4(), z.ipv6()]);
const cidr = z.union([z.cidrv4(), z.cidrv6()]);
const mac = z.string().regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/);

const credentialsSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('node-file'),
    path: z
      .string()
      .max(4096)
      .regex(/^\/[^\0]*$/, 'an absolute path'),
    cloud: name.optional(),
    user: name.optional(),
    project: name.optional(),
  }),
  z.object({
    type: z.literal('password'),
    username: name,
    userDomain: name,
    password: z.string().min(1),
    projectName: name,
    projectDomain: name,
  }),
  z.object({ type: z.literal('application_credential'), id: name, secret: z.string().min(1) }),
]);

export const clusterSchema: z.ZodType<Cluster> = z.object({
  name,
  authUrl: z.url({ protocol: /^https?$/ }),
  region: name.optional(),
  interface: z.enum(['public', 'internal', 'admin']).optional(),
  credentials: credentialsSchema,
  defaultNetworkId: name.optional(),
  defaultSubnetId: name.optional(),
  serviceCidrs: z.array(cidr).min(1).max(2).optional(),
  nodeAccess: z
    .object({
      securityGroupId: name,
      rules: z.literal('per-node-ip').optional(),
      addressGroupId: name.optional(),
    })
    .optional(),
  nodeAccessLease: z.object({ holder: name, until: timestamp }).optional(),
  podSecurityGroupIds: z.array(name).max(16).optional(),
  pool: z
    .object({
      min: z.int().min(0).max(POOL_LIMITS.max),
      max: z.int().min(0).max(POOL_LIMITS.max),
      batch: z.int().min(1).max(POOL_LIMITS.batch),
    })
    .refine((p) => p.min <= p.max, 'min must not exceed max')
    .optional(),
  allowedNetworkIds: z.array(name).max(256).optional(),
  createdAt: timestamp,
});

export const managedResourceSchema: z.ZodType<ManagedResource> = z.object({
  kind: z.enum(['network', 'subnet', 'router']),
  id: name,
  name: z.string().max(255), // Neutron allows empty names
  cluster: name,
  cidr: cidr.optional(),
  networkId: name.optional(),
  createdAt: timestamp,
});

const ifname = z.string().regex(/^(?!\.{1,2}$)[^\s/:]{1,15}$/);

const podNicSchema = z.object({
  ifname,
  networkId: name,
  fixedIps: z.array(z.object({ subnetId: name, ip: ip.optional() })).max(2),
  mac: mac.optional(),
  reservedPortId: name.optional(),
  securityGroupIds: z.array(name).min(1).max(16).optional(),
});

/**
 * Records evolve by upgrade-on-read: a row of an older shape is read into the current one and
 * written back in it on its next write. Pod configs before multi-NIC held one NIC, flat. Pod
 * configs before ownership have no `projectId`, and nothing in the row can tell it: they read as
 * they are, and their owner is the project of their ports (src/cli/ownership.ts).
 */
function upgradePodConfig(row: unknown): unknown {
  if (typeof row !== 'object' || row === null || 'nics' in row) return row;
  const { networkId, subnetId, ip: addr, mac: hw, reservedPortId, ...rest } = row as Record<string, unknown>;
  const nic: Record<string, unknown> = {
    ifname: 'eth0',
    networkId,
    fixedIps: subnetId === undefined ? [] : [{ subnetId, ...(addr === undefined ? {} : { ip: addr }) }],
  };
  if (hw !== undefined) nic.mac = hw;
  if (reservedPortId !== undefined) nic.reservedPortId = reservedPortId;
  return { ...rest, nics: [nic] };
}

export const podNetworkConfigSchema: z.ZodType<PodNetworkConfig> = z.preprocess(
  upgradePodConfig,
  z.object({
    cluster: name,
    namespace: name,
    pod: name,
    projectId: name.optional(),
    nics: z.array(podNicSchema).min(1).max(9),
    createdAt: timestamp,
    updatedAt: timestamp,
  }),
) as unknown as z.ZodType<PodNetworkConfig>;

/**
 * Attachments before routes were recorded: ADD then installed one default route, via the first
 * IPv4 gateway (else the first gateway), and nothing else; that is what the record says now.
 */
function upgradeAttachment(row: unknown): unknown {
  if (typeof row !== 'object' || row === null || 'routes' in row) return row;
  const ips = ((row as { ips?: unknown }).ips ?? []) as AttachmentIp[];
  if (!Array.isArray(ips)) return row;
  const gw =
    ips.find((i) => i?.gateway && !i.address?.includes(':'))?.gateway ?? ips.find((i) => i?.gateway)?.gateway;
  const routes = gw ? [{ dst: gw.includes(':') ? '::/0' : '0.0.0.0/0', gateway: gw }] : [];
  return { ...row, routes };
}

const subportSchema = z.object({ trunkId: name, vlan: z.int().min(1).max(4094) });

export const attachmentSchema: z.ZodType<Attachment> = z.preprocess(
  upgradeAttachment,
  z.object({
    containerId: name,
    ifname: z.string().min(1).max(15),
    cluster: name,
    namespace: name,
    pod: name,
    podUid: name.optional(),
    netns: z.string().min(1).max(4096),
    node: name,
    portId: name,
    portCreatedByAdd: z.boolean(),
    networkId: name.optional(),
    ips: z.array(z.object({ address: ip, prefixLength: z.int().min(0).max(128), gateway: ip.optional() })),
    routes: z.array(z.object({ dst: cidr, gateway: ip.optional(), onlink: z.boolean().optional() })),
    mac,
    mtu: z.int().min(68).max(65535),
    plugDriver: name,
    ovsPort: name,
    pool: z.string().min(1).max(4096).optional(),
    via: z.string().min(1).max(15).optional(),
    subport: subportSchema.optional(),
    createdAt: timestamp,
  }),
) as unknown as z.ZodType<Attachment>;

const addressingIps = z.array(
  z.object({ address: ip, prefixLength: z.int().min(0).max(128), gateway: ip.optional() }),
);
const addressingRoutes = z.array(
  z.object({ dst: cidr, gateway: ip.optional(), onlink: z.boolean().optional() }),
);

export const nodeRecordSchema: z.ZodType<NodeRecord> = z.object({
  cluster: name,
  name,
  seenAt: timestamp.optional(),
  reportEveryMs: z
    .int()
    .min(100)
    .max(7 * 24 * 3_600_000)
    .optional(),
  ports: z.array(
    z.object({
      networkId: name,
      portId: name,
      device: ifname,
      mac,
      mtu: z.int().min(68).max(65535),
      ips: addressingIps.min(1),
      routes: addressingRoutes,
      subport: subportSchema.optional(),
    }),
  ),
  pools: z
    .array(
      z.object({
        networkId: name,
        subnetIds: z.array(name).max(2),
        securityGroupIds: z.array(name).max(17),
        ready: z.int().min(0),
        inUse: z.int().min(0),
        target: z.int().min(0),
        max: z.int().min(0),
        refillError: z.string().max(1024).optional(),
        createdAt: timestamp,
        updatedAt: timestamp,
      }),
    )
    .optional(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

/**
 * How a record type is stored. `name` is the SQLite table and the etcd key segment; `keyFields`
 * form the primary key (in order: a filter on a leading run of them is an etcd prefix scan);
 * `indexFields` are extra SQLite columns that list() filters on. Changing any of these needs a
 * migration.
 */
export interface Table<R> {
  name: 'clusters' | 'resources' | 'pod_configs' | 'attachments' | 'nodes';
  noun: string;
  schema: z.ZodType<R>;
  keyFields: readonly (keyof R & string)[];
  indexFields: readonly (keyof R & string)[];
  /** The record has `updatedAt` besides `createdAt`. */
  updatedAt: boolean;
}

export const TABLES = {
  clusters: {
    name: 'clusters',
    noun: 'cluster',
    schema: clusterSchema,
    keyFields: ['name'],
    indexFields: [],
    updatedAt: false,
  } satisfies Table<Cluster>,
  resources: {
    name: 'resources',
    noun: 'managed resource',
    schema: managedResourceSchema,
    keyFields: ['kind', 'id'],
    indexFields: ['cluster'],
    updatedAt: false,
  } satisfies Table<ManagedResource>,
  podConfigs: {
    name: 'pod_configs',
    noun: 'pod network config',
    schema: podNetworkConfigSchema,
    keyFields: ['cluster', 'namespace', 'pod'],
    indexFields: [],
    updatedAt: true,
  } satisfies Table<PodNetworkConfig>,
  attachments: {
    name: 'attachments',
    noun: 'attachment',
    schema: attachmentSchema,
    keyFields: ['containerId', 'ifname'],
    indexFields: ['node', 'cluster'],
    updatedAt: false,
  } satisfies Table<Attachment>,
  nodes: {
    name: 'nodes',
    noun: 'node',
    schema: nodeRecordSchema,
    keyFields: ['cluster', 'name'],
    indexFields: [],
    updatedAt: true,
  } satisfies Table<NodeRecord>,
} as const;

/** Any table, for code that handles rows without knowing their record type. */
// biome-ignore lint/suspicious/noExplicitAny: the backends treat every table alike
export type AnyTable = Table<any>;
