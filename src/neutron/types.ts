/**
 * Neutron v2.0 resources as typed values (camelCase), parsed from replies with zod, and the
 * request bodies / list filters built from typed inputs (pure).
 */
import { z } from 'zod';
import type { QueryValue } from './query.ts';

// ---------------------------------------------------------------------------------------------
// Replies

const str = z.string();
const optStr = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);
const strList = z
  .array(z.string())
  .nullish()
  .transform((v) => v ?? []);
const projectOf = (r: { project_id?: string | null; tenant_id?: string | null }) =>
  r.project_id ?? r.tenant_id ?? undefined;
const ids = { project_id: z.string().nullish(), tenant_id: z.string().nullish() };
const meta = {
  description: optStr,
  tags: strList,
  created_at: optStr,
  updated_at: optStr,
  revision_number: z.number().nullish(),
};

export interface FixedIp {
  subnetId: string;
  ipAddress: string;
}
export interface AllocationPool {
  start: string;
  end: string;
}
export interface HostRoute {
  destination: string;
  nexthop: string;
}
interface Meta {
  projectId: string | undefined;
  description: string | undefined;
  tags: string[];
  createdAt: string | undefined;
  updatedAt: string | undefined;
  revisionNumber: number | undefined;
}
function metaOf(r: {
  project_id?: string | null;
  tenant_id?: string | null;
  description: string | undefined;
  tags: string[];
  created_at: string | undefined;
  updated_at: string | undefined;
  revision_number?: number | null;
}): Meta {
  return {
    projectId: projectOf(r),
    description: r.description,
    tags: r.tags,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    revisionNumber: r.revision_number ?? undefined,
  };
}

export interface Network extends Meta {
  id: string;
  name: string;
  status: string;
  adminStateUp: boolean;
  shared: boolean;
  external: boolean;
  mtu: number | undefined;
  subnets: string[];
  portSecurityEnabled: boolean | undefined;
  providerNetworkType: string | undefined;
  providerPhysicalNetwork: string | undefined;
  providerSegmentationId: number | undefined;
}
export const networkSchema = z
  .object({
    id: str,
    name: z.string().default(''),
    status: z.string().default(''),
    admin_state_up: z.boolean().default(true),
    shared: z.boolean().default(false),
    'router:external': z.boolean().default(false),
    mtu: z.number().nullish(),
    subnets: strList,
    port_security_enabled: z.boolean().nullish(),
    'provider:network_type': optStr,
    'provider:physical_network': optStr,
    'provider:segmentation_id': z.number().nullish(),
    ...ids,
    ...meta,
  })
  .transform(
    (r): Network => ({
      id: r.id,
      name: r.name,
      status: r.status,
      adminStateUp: r.admin_state_up,
      shared: r.shared,
      external: r['router:external'],
      mtu: r.mtu ?? undefined,
      subnets: r.subnets,
      portSecurityEnabled: r.port_security_enabled ?? undefined,
      providerNetworkType: r['provider:network_type'],
      providerPhysicalNetwork: r['provider:physical_network'],
      providerSegmentationId: r['provider:segmentation_id'] ?? undefined,
      ...metaOf(r),
    }),
  );

/** How an IPv6 subnet's hosts get addresses and router advertisements (Neutron's names). */
export type Ipv6Mode = 'dhcpv6-stateful' | 'dhcpv6-stateless' | 'slaac';
const ipv6Mode = z
  .enum(['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac'])
  .nullish()
  .transform((v) => v ?? undefined);

export interface Subnet extends Meta {
  id: string;
  name: string;
  networkId: string;
  ipVersion: 4 | 6;
  cidr: string;
  /** null: no gateway. */
  gatewayIp: string | null;
  allocationPools: AllocationPool[];
  dnsNameservers: string[];
  enableDhcp: boolean;
  hostRoutes: HostRoute[];
  subnetpoolId: string | undefined;
  /** IPv6 only; undefined: none set (IPv4, or Neutron's default). */
  ipv6AddressMode?: Ipv6Mode | undefined;
  ipv6RaMode?: Ipv6Mode | undefined;
}
export const subnetSchema = z
  .object({
    id: str,
    name: z.string().default(''),
    network_id: str,
    ip_version: z.union([z.literal(4), z.literal(6)]),
    cidr: str,
    gateway_ip: z.string().nullable().default(null),
    allocation_pools: z
      .array(z.object({ start: str, end: str }))
      .nullish()
      .transform((v) => v ?? []),
    dns_nameservers: strList,
    enable_dhcp: z.boolean().default(true),
    host_routes: z
      .array(z.object({ destination: str, nexthop: str }))
      .nullish()
      .transform((v) => v ?? []),
    subnetpool_id: optStr,
    ipv6_address_mode: ipv6Mode,
    ipv6_ra_mode: ipv6Mode,
    ...ids,
    ...meta,
  })
  .transform(
    (r): Subnet => ({
      id: r.id,
      name: r.name,
      networkId: r.network_id,
      ipVersion: r.ip_version,
      cidr: r.cidr,
      gatewayIp: r.gateway_ip,
      allocationPools: r.allocation_pools,
      dnsNameservers: r.dns_nameservers,
      enableDhcp: r.enable_dhcp,
      hostRoutes: r.host_routes,
      subnetpoolId: r.subnetpool_id,
      ...(r.ipv6_address_mode ? { ipv6AddressMode: r.ipv6_address_mode } : {}),
      ...(r.ipv6_ra_mode ? { ipv6RaMode: r.ipv6_ra_mode } : {}),
      ...metaOf(r),
    }),
  );

export interface Port extends Meta {
  id: string;
  name: string;
  networkId: string;
  macAddress: string;
  fixedIps: FixedIp[];
  deviceOwner: string;
  deviceId: string;
  /** binding:host_id ('' when unbound). */
  hostId: string;
  /** binding:vif_type: 'unbound', 'binding_failed', 'ovs', … (undefined without the binding extension). */
  vifType: string | undefined;
  vifDetails: Record<string, unknown>;
  vnicType: string | undefined;
  bindingProfile: Record<string, unknown>;
  /** DOWN, ACTIVE, BUILD, ERROR. */
  status: string;
  adminStateUp: boolean;
  securityGroups: string[];
  portSecurityEnabled: boolean | undefined;
}
const record = z
  .record(z.string(), z.unknown())
  .nullish()
  .transform((v) => v ?? {});
export const portSchema = z
  .object({
    id: str,
    name: z.string().default(''),
    network_id: str,
    mac_address: str,
    fixed_ips: z
      .array(z.object({ subnet_id: str, ip_address: str }))
      .nullish()
      .transform((v) => (v ?? []).map((f) => ({ subnetId: f.subnet_id, ipAddress: f.ip_address }))),
    device_owner: z.string().default(''),
    device_id: z.string().default(''),
    'binding:host_id': z
      .string()
      .nullish()
      .transform((v) => v ?? ''),
    'binding:vif_type': optStr,
    'binding:vif_details': record,
    'binding:vnic_type': optStr,
    'binding:profile': record,
    status: z.string().default(''),
    admin_state_up: z.boolean().default(true),
    security_groups: strList,
    port_security_enabled: z.boolean().nullish(),
    ...ids,
    ...meta,
  })
  .transform(
    (r): Port => ({
      id: r.id,
      name: r.name,
      networkId: r.network_id,
      macAddress: r.mac_address,
      fixedIps: r.fixed_ips,
      deviceOwner: r.device_owner,
      deviceId: r.device_id,
      hostId: r['binding:host_id'],
      vifType: r['binding:vif_type'],
      vifDetails: r['binding:vif_details'],
      vnicType: r['binding:vnic_type'],
      bindingProfile: r['binding:profile'],
      status: r.status,
      adminStateUp: r.admin_state_up,
      securityGroups: r.security_groups,
      portSecurityEnabled: r.port_security_enabled ?? undefined,
      ...metaOf(r),
    }),
  );

export interface ExternalGateway {
  networkId: string;
  enableSnat: boolean | undefined;
  externalFixedIps: FixedIp[];
}
export interface Router extends Meta {
  id: string;
  name: string;
  status: string;
  adminStateUp: boolean;
  externalGateway: ExternalGateway | undefined;
  routes: HostRoute[];
}
export const routerSchema = z
  .object({
    id: str,
    name: z.string().default(''),
    status: z.string().default(''),
    admin_state_up: z.boolean().default(true),
    external_gateway_info: z
      .object({
        network_id: str,
        enable_snat: z.boolean().nullish(),
        external_fixed_ips: z
          .array(z.object({ subnet_id: str, ip_address: str }))
          .nullish()
          .transform((v) => v ?? []),
      })
      .nullish(),
    routes: z
      .array(z.object({ destination: str, nexthop: str }))
      .nullish()
      .transform((v) => v ?? []),
    ...ids,
    ...meta,
  })
  .transform(
    (r): Router => ({
      id: r.id,
      name: r.name,
      status: r.status,
      adminStateUp: r.admin_state_up,
      externalGateway: r.external_gateway_info
        ? {
            networkId: r.external_gateway_info.network_id,
            enableSnat: r.external_gateway_info.enable_snat ?? undefined,
            externalFixedIps: r.external_gateway_info.external_fixed_ips.map((f) => ({
              subnetId: f.subnet_id,
              ipAddress: f.ip_address,
            })),
          }
        : undefined,
      routes: r.routes,
      ...metaOf(r),
    }),
  );

export interface RouterInterface {
  routerId: string;
  subnetId: string;
  portId: string;
  networkId: string | undefined;
}
export const routerInterfaceSchema = z
  .object({
    id: str,
    subnet_id: str,
    port_id: str,
    network_id: z.string().nullish(),
  })
  .transform(
    (r): RouterInterface => ({
      routerId: r.id,
      subnetId: r.subnet_id,
      portId: r.port_id,
      networkId: r.network_id ?? undefined,
    }),
  );

export type Direction = 'ingress' | 'egress';
export interface SecurityGroupRule extends Meta {
  id: string;
  securityGroupId: string;
  direction: Direction;
  ethertype: 'IPv4' | 'IPv6';
  /** null: any protocol. */
  protocol: string | null;
  portRangeMin: number | null;
  portRangeMax: number | null;
  remoteIpPrefix: string | null;
  remoteGroupId: string | null;
  remoteAddressGroupId: string | null;
}
const ruleObject = z.object({
  id: str,
  security_group_id: str,
  direction: z.enum(['ingress', 'egress']),
  ethertype: z.enum(['IPv4', 'IPv6']),
  protocol: z.string().nullable().default(null),
  port_range_min: z.number().nullable().default(null),
  port_range_max: z.number().nullable().default(null),
  remote_ip_prefix: z.string().nullable().default(null),
  remote_group_id: z.string().nullable().default(null),
  remote_address_group_id: z.string().nullable().default(null),
  ...ids,
  ...meta,
});
const toRule = (r: z.output<typeof ruleObject>): SecurityGroupRule => ({
  id: r.id,
  securityGroupId: r.security_group_id,
  direction: r.direction,
  ethertype: r.ethertype,
  protocol: r.protocol,
  portRangeMin: r.port_range_min,
  portRangeMax: r.port_range_max,
  remoteIpPrefix: r.remote_ip_prefix,
  remoteGroupId: r.remote_group_id,
  remoteAddressGroupId: r.remote_address_group_id,
  ...metaOf(r),
});
export const securityGroupRuleSchema = ruleObject.transform(toRule);

export interface SecurityGroup extends Meta {
  id: string;
  name: string;
  stateful: boolean | undefined;
  rules: SecurityGroupRule[];
}
export const securityGroupSchema = z
  .object({
    id: str,
    name: z.string().default(''),
    stateful: z.boolean().nullish(),
    security_group_rules: z
      .array(ruleObject)
      .nullish()
      .transform((v) => (v ?? []).map(toRule)),
    ...ids,
    ...meta,
  })
  .transform(
    (r): SecurityGroup => ({
      id: r.id,
      name: r.name,
      stateful: r.stateful ?? undefined,
      rules: r.security_group_rules,
      ...metaOf(r),
    }),
  );

/** A Neutron address group: a named set of CIDRs that security group rules can refer to. */
export interface AddressGroup {
  id: string;
  name: string;
  description: string;
  /** CIDRs, as Neutron normalised them. */
  addresses: string[];
  projectId: string | undefined;
}
export const addressGroupSchema = z
  .object({
    id: str,
    name: z.string().default(''),
    description: z.string().nullish(),
    addresses: strList,
    ...ids,
  })
  .transform(
    (r): AddressGroup => ({
      id: r.id,
      name: r.name,
      description: r.description ?? '',
      addresses: r.addresses,
      projectId: r.project_id ?? r.tenant_id ?? undefined,
    }),
  );

/** One subport of a trunk: a port carried on the parent's NIC with its own VLAN. */
export interface SubPort {
  portId: string;
  segmentationType: string;
  segmentationId: number;
}

/** A Neutron trunk (the `trunk` service plugin): a parent port and its subports. */
export interface Trunk {
  id: string;
  name: string;
  portId: string;
  /** ACTIVE, DOWN, BUILD, DEGRADED or ERROR. */
  status: string;
  adminStateUp: boolean;
  subPorts: SubPort[];
  projectId: string | undefined;
  tags: string[];
}
const subPortSchema = z
  .object({ port_id: str, segmentation_type: z.string().default('vlan'), segmentation_id: z.number().int() })
  .transform(
    (s): SubPort => ({
      portId: s.port_id,
      segmentationType: s.segmentation_type,
      segmentationId: s.segmentation_id,
    }),
  );
export const trunkSchema = z
  .object({
    id: str,
    name: z.string().default(''),
    port_id: str,
    status: z.string().default(''),
    admin_state_up: z.boolean().default(true),
    sub_ports: z
      .array(subPortSchema)
      .nullish()
      .transform((v) => v ?? []),
    ...ids,
    ...meta,
  })
  .transform(
    (r): Trunk => ({
      id: r.id,
      name: r.name,
      portId: r.port_id,
      status: r.status,
      adminStateUp: r.admin_state_up,
      subPorts: r.sub_ports,
      projectId: r.project_id ?? r.tenant_id ?? undefined,
      tags: r.tags,
    }),
  );
/** The reply of add_subports / remove_subports: the trunk, as Neutron has it now. */
export const trunkReplySchema = trunkSchema;

// ---------------------------------------------------------------------------------------------
// Requests. Each input maps to Neutron's field names; undefined fields are left out.

type Body = Record<string, unknown>;
function compact(b: Body): Body {
  return Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined));
}

export interface CreateCommon {
  description?: string;
  /** Set at create time (in the POST when Neutron allows it, else right after). */
  tags?: string[];
  /** Admin only: create on behalf of another project. */
  projectId?: string;
}

export interface NetworkCreate extends CreateCommon {
  name?: string;
  adminStateUp?: boolean;
  shared?: boolean;
  external?: boolean;
  mtu?: number;
  portSecurityEnabled?: boolean;
  providerNetworkType?: string;
  providerPhysicalNetwork?: string;
  providerSegmentationId?: number;
}
export type NetworkUpdate = Partial<
  Pick<
    NetworkCreate,
    'name' | 'adminStateUp' | 'shared' | 'external' | 'mtu' | 'portSecurityEnabled' | 'description'
  >
>;
export function networkBody(n: NetworkCreate | NetworkUpdate): Body {
  const c = n as NetworkCreate;
  return compact({
    name: c.name,
    admin_state_up: c.adminStateUp,
    shared: c.shared,
    'router:external': c.external,
    mtu: c.mtu,
    port_security_enabled: c.portSecurityEnabled,
    description: c.description,
    project_id: c.projectId,
    'provider:network_type': c.providerNetworkType,
    'provider:physical_network': c.providerPhysicalNetwork,
    'provider:segmentation_id': c.providerSegmentationId,
  });
}

export interface SubnetCreate extends CreateCommon {
  networkId: string;
  cidr: string;
  /** Default: 6 if the CIDR has a ':', else 4. */
  ipVersion?: 4 | 6;
  name?: string;
  /** null: no gateway; undefined: Neutron picks the first address. */
  gatewayIp?: string | null;
  allocationPools?: AllocationPool[];
  dnsNameservers?: string[];
  enableDhcp?: boolean;
  hostRoutes?: HostRoute[];
  /** IPv6 subnets only; Neutron refuses them on IPv4. */
  ipv6AddressMode?: Ipv6Mode;
  ipv6RaMode?: Ipv6Mode;
}
export type SubnetUpdate = Partial<
  Pick<
    SubnetCreate,
    'name' | 'gatewayIp' | 'allocationPools' | 'dnsNameservers' | 'enableDhcp' | 'hostRoutes' | 'description'
  >
>;
export function subnetBody(s: SubnetCreate | SubnetUpdate): Body {
  const c = s as SubnetCreate;
  return compact({
    network_id: c.networkId,
    cidr: c.cidr,
    ip_version: c.cidr === undefined ? undefined : (c.ipVersion ?? (c.cidr.includes(':') ? 6 : 4)),
    name: c.name,
    gateway_ip: c.gatewayIp,
    allocation_pools: c.allocationPools,
    dns_nameservers: c.dnsNameservers,
    enable_dhcp: c.enableDhcp,
    host_routes: c.hostRoutes,
    ipv6_address_mode: c.ipv6AddressMode,
    ipv6_ra_mode: c.ipv6RaMode,
    description: c.description,
    project_id: c.projectId,
  });
}

export interface PortCreate extends CreateCommon {
  networkId: string;
  name?: string;
  /** Ask for an IP in a subnet ({subnetId, ipAddress}), any IP of a subnet ({subnetId}), or an IP. */
  fixedIps?: { subnetId?: string; ipAddress?: string }[];
  macAddress?: string;
  /** binding:host_id; '' unbinds (in an update). */
  hostId?: string;
  deviceOwner?: string;
  deviceId?: string;
  securityGroups?: string[];
  adminStateUp?: boolean;
  portSecurityEnabled?: boolean;
  vnicType?: string;
  bindingProfile?: Record<string, unknown>;
}
export type PortUpdate = Partial<Omit<PortCreate, 'networkId' | 'tags' | 'projectId'>>;
export function portBody(p: PortCreate | PortUpdate): Body {
  const c = p as PortCreate;
  return compact({
    network_id: c.networkId,
    name: c.name,
    fixed_ips: c.fixedIps?.map((f) => compact({ subnet_id: f.subnetId, ip_address: f.ipAddress })),
    mac_address: c.macAddress,
    'binding:host_id': c.hostId,
    device_owner: c.deviceOwner,
    device_id: c.deviceId,
    security_groups: c.securityGroups,
    admin_state_up: c.adminStateUp,
    port_security_enabled: c.portSecurityEnabled,
    'binding:vnic_type': c.vnicType,
    'binding:profile': c.bindingProfile,
    description: c.description,
    project_id: c.projectId,
  });
}

export interface RouterCreate extends CreateCommon {
  name?: string;
  adminStateUp?: boolean;
  externalGateway?: { networkId: string; enableSnat?: boolean };
}
export interface RouterUpdate {
  name?: string;
  adminStateUp?: boolean;
  description?: string;
  /** null removes the gateway. */
  externalGateway?: { networkId: string; enableSnat?: boolean } | null;
  routes?: HostRoute[];
}
export function routerBody(r: RouterCreate | RouterUpdate): Body {
  const c = r as RouterCreate & RouterUpdate;
  const gw = c.externalGateway;
  return compact({
    name: c.name,
    admin_state_up: c.adminStateUp,
    description: c.description,
    project_id: c.projectId,
    routes: c.routes,
    external_gateway_info:
      gw === undefined
        ? undefined
        : gw === null
          ? {}
          : compact({ network_id: gw.networkId, enable_snat: gw.enableSnat }),
  });
}

export interface SecurityGroupCreate extends CreateCommon {
  name: string;
  stateful?: boolean;
}
export type SecurityGroupUpdate = Partial<Pick<SecurityGroupCreate, 'name' | 'description' | 'stateful'>>;
export function securityGroupBody(g: SecurityGroupCreate | SecurityGroupUpdate): Body {
  const c = g as SecurityGroupCreate;
  return compact({ name: c.name, description: c.description, stateful: c.stateful, project_id: c.projectId });
}

export interface SecurityGroupRuleCreate {
  securityGroupId: string;
  direction: Direction;
  /** Default IPv4. */
  ethertype?: 'IPv4' | 'IPv6';
  /** 'tcp', 'udp', 'icmp', a number, or null/undefined for any. */
  protocol?: string | number | null;
  portRangeMin?: number;
  portRangeMax?: number;
  remoteIpPrefix?: string;
  remoteGroupId?: string;
  remoteAddressGroupId?: string;
  description?: string;
  projectId?: string;
}
export interface AddressGroupCreate extends Omit<CreateCommon, 'tags'> {
  name: string;
  addresses?: string[];
}
export type AddressGroupUpdate = Partial<Pick<AddressGroupCreate, 'name' | 'description'>>;
export function addressGroupBody(a: AddressGroupCreate | AddressGroupUpdate): Body {
  const c = a as AddressGroupCreate;
  return compact({
    name: c.name,
    description: c.description,
    addresses: c.addresses,
    project_id: c.projectId,
  });
}

export interface TrunkCreate extends CreateCommon {
  portId: string;
  name?: string;
  subPorts?: SubPort[];
}
export interface TrunkUpdate {
  name?: string;
  description?: string;
}
export function trunkBody(t: TrunkCreate | TrunkUpdate): Body {
  const c = t as TrunkCreate;
  return compact({
    port_id: c.portId,
    name: c.name,
    description: c.description,
    project_id: c.projectId,
    sub_ports: c.subPorts?.map(subPortBody),
  });
}
export function subPortBody(s: SubPort): Body {
  return { port_id: s.portId, segmentation_type: s.segmentationType, segmentation_id: s.segmentationId };
}

export function securityGroupRuleBody(r: SecurityGroupRuleCreate): Body {
  return compact({
    security_group_id: r.securityGroupId,
    direction: r.direction,
    ethertype: r.ethertype ?? 'IPv4',
    protocol: r.protocol === undefined || r.protocol === null ? undefined : String(r.protocol),
    port_range_min: r.portRangeMin,
    port_range_max: r.portRangeMax,
    remote_ip_prefix: r.remoteIpPrefix,
    remote_group_id: r.remoteGroupId,
    remote_address_group_id: r.remoteAddressGroupId,
    description: r.description,
    project_id: r.projectId,
  });
}

// ---------------------------------------------------------------------------------------------
// List filters. Scalars match exactly; arrays match any (repeated keys), except tag filters, which
// Neutron takes comma-separated: `tags` = all of, `tagsAny` = any of, `notTags`, `notTagsAny`.

type F = string | number | boolean | readonly (string | number | boolean)[];
export interface CommonFilters {
  id?: F;
  name?: F;
  projectId?: F;
  description?: F;
  tags?: readonly string[];
  tagsAny?: readonly string[];
  notTags?: readonly string[];
  notTagsAny?: readonly string[];
  /** Passed through as is (Neutron field names), for anything not covered here. */
  raw?: Record<string, QueryValue>;
}
export interface NetworkFilters extends CommonFilters {
  status?: F;
  shared?: boolean;
  external?: boolean;
  adminStateUp?: boolean;
}
export interface SubnetFilters extends CommonFilters {
  networkId?: F;
  cidr?: F;
  ipVersion?: 4 | 6;
  gatewayIp?: F;
  enableDhcp?: boolean;
}
export interface PortFilters extends CommonFilters {
  networkId?: F;
  deviceId?: F;
  deviceOwner?: F;
  hostId?: F;
  macAddress?: F;
  status?: F;
  adminStateUp?: boolean;
  securityGroups?: F;
  /** Each entry is one condition on the port's fixed IPs; all must hold. */
  fixedIps?: readonly { subnetId?: string; ipAddress?: string; ipAddressSubstr?: string }[];
}
export interface RouterFilters extends CommonFilters {
  status?: F;
  adminStateUp?: boolean;
}
export type SecurityGroupFilters = CommonFilters;
export interface TrunkFilters extends CommonFilters {
  /** The parent port. */
  portId?: F;
  status?: F;
}
export type AddressGroupFilters = Omit<CommonFilters, 'tags' | 'tagsAny' | 'notTags' | 'notTagsAny'>;
export interface SecurityGroupRuleFilters
  extends Omit<CommonFilters, 'name' | 'tags' | 'tagsAny' | 'notTags' | 'notTagsAny'> {
  securityGroupId?: F;
  direction?: Direction;
  ethertype?: 'IPv4' | 'IPv6';
  protocol?: F;
  remoteGroupId?: F;
  remoteIpPrefix?: F;
  remoteAddressGroupId?: F;
}
export type AnyFilters = CommonFilters & Record<string, unknown>;

const FILTER_KEYS: Record<string, string> = {
  projectId: 'project_id',
  networkId: 'network_id',
  portId: 'port_id',
  deviceId: 'device_id',
  deviceOwner: 'device_owner',
  hostId: 'binding:host_id',
  macAddress: 'mac_address',
  adminStateUp: 'admin_state_up',
  securityGroups: 'security_groups',
  external: 'router:external',
  ipVersion: 'ip_version',
  gatewayIp: 'gateway_ip',
  enableDhcp: 'enable_dhcp',
  securityGroupId: 'security_group_id',
  remoteGroupId: 'remote_group_id',
  remoteIpPrefix: 'remote_ip_prefix',
  remoteAddressGroupId: 'remote_address_group_id',
  tagsAny: 'tags-any',
  notTags: 'not-tags',
  notTagsAny: 'not-tags-any',
};
const TAG_FILTERS = new Set(['tags', 'tagsAny', 'notTags', 'notTagsAny']);

/** Typed filters → Neutron query parameters. */
export function filterParams(filters: AnyFilters = {}): Record<string, QueryValue> {
  const out: Record<string, QueryValue> = {};
  for (const [k, v] of Object.entries(filters)) {
    if (v === undefined || k === 'raw' || k === 'fixedIps') continue;
    const key = FILTER_KEYS[k] ?? k;
    if (TAG_FILTERS.has(k)) {
      const tags = v as readonly string[];
      if (tags.length > 0) out[key] = tags.join(',');
    } else out[key] = v as QueryValue;
  }
  const fixed = (filters as PortFilters).fixedIps;
  if (fixed && fixed.length > 0) {
    out.fixed_ips = fixed.flatMap((f) =>
      [
        f.subnetId === undefined ? undefined : `subnet_id=${f.subnetId}`,
        f.ipAddress === undefined ? undefined : `ip_address=${f.ipAddress}`,
        f.ipAddressSubstr === undefined ? undefined : `ip_address_substr=${f.ipAddressSubstr}`,
      ].filter((x): x is string => x !== undefined),
    );
  }
  return { ...out, ...filters.raw };
}
