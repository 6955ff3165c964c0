/**
 * Neutron v2.0 REST client over an identity Session.
 *
 *   import { createNeutronClient } from '../neutron/index.ts';
 *   const neutron = createNeutronClient(session);
 *   const port = await neutron.ports.create({
 *     networkId, name: 'pod1', fixedIps: [{ subnetId, ipAddress: '1.2.0.100' }],
 *     deviceOwner: 'compute:nnet', deviceId: podUid, tags: ['nnet', 'cluster=c1'],
 *   });
 *   await neutron.ports.update(port.id, { hostId: 'node1' });
 *   const mine = await neutron.ports.list({ networkId, tags: ['cluster=c1'] }, { limit: 100 });
 *   await neutron.ports.ensureDeleted(port.id); // false if it was already gone
 *
 * Resources: `networks`, `subnets`, `ports` (+ findByIp), `routers` (+ addInterface,
 * removeInterface), `securityGroups`, `securityGroupRules` (no update: Neutron has none), each with
 * create / get / list / pages / update / delete / ensureDeleted; `setTags`, `extensions`.
 *
 * Failures are NeutronError with `reason`: 'ip-taken' (message names the IP and subnet),
 * 'conflict', 'not-found', 'bad-request', 'forbidden', 'over-quota', 'unavailable' (5xx, refused,
 * reset, timeout: retryable; already retried where resending is safe). Token problems surface as
 * IdentityError from the session.
 */
export type {
  AddressGroupApi,
  Binding,
  ListOptions,
  NeutronClientOptions,
  PortApi,
  ResourceApi,
  RouterApi,
  SecurityGroupRuleApi,
  TaggableCollection,
  TrunkApi,
} from './client.ts';
export { createNeutronClient, NeutronClient } from './client.ts';
export type { QueryValue } from './query.ts';
export { createRequestQueue, type RequestPriority, type RequestQueue } from './queue.ts';
export type { RetryPolicy } from './retry.ts';
export type {
  AddressGroup,
  AddressGroupCreate,
  AddressGroupFilters,
  AddressGroupUpdate,
  AllocationPool,
  CommonFilters,
  CreateCommon,
  Direction,
  ExternalGateway,
  FixedIp,
  HostRoute,
  Ipv6Mode,
  Network,
  NetworkCreate,
  NetworkFilters,
  NetworkUpdate,
  Port,
  PortCreate,
  PortFilters,
  PortUpdate,
  Router,
  RouterCreate,
  RouterFilters,
  RouterInterface,
  RouterUpdate,
  SecurityGroup,
  SecurityGroupCreate,
  SecurityGroupFilters,
  SecurityGroupRule,
  SecurityGroupRuleCreate,
  SecurityGroupRuleFilters,
  SecurityGroupUpdate,
  Subnet,
  SubnetCreate,
  SubnetFilters,
  SubnetUpdate,
  SubPort,
  Trunk,
  TrunkCreate,
  TrunkFilters,
  TrunkUpdate,
} from './types.ts';
