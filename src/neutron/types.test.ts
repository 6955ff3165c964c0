import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  filterParams,
  portBody,
  portSchema,
  routerBody,
  securityGroupRuleBody,
  subnetBody,
  subnetSchema,
} from './types.ts';

test('a port create body uses Neutron names, binding:host_id included, undefined left out', () => {
  assert.deepEqual(
    portBody({
      networkId: 'n',
      name: 'p',
      fixedIps: [{ subnetId: 's', ipAddress: '1.2.0.100' }, { subnetId: 's2' }],
      macAddress: 'fa:16:3e:00:00:01',
      hostId: 'node1',
      deviceOwner: 'compute:nnet',
      deviceId: 'uid',
      securityGroups: [],
      adminStateUp: false,
    }),
    {
      network_id: 'n',
      name: 'p',
      fixed_ips: [{ subnet_id: 's', ip_address: '1.2.0.100' }, { subnet_id: 's2' }],
      mac_address: 'fa:16:3e:00:00:01',
      'binding:host_id': 'node1',
      device_owner: 'compute:nnet',
      device_id: 'uid',
      security_groups: [],
      admin_state_up: false,
    },
  );
  assert.deepEqual(portBody({ hostId: '' }), { 'binding:host_id': '' });
});

test('subnet bodies infer the IP version and keep a null gateway; router gateway null clears it', () => {
  assert.deepEqual(subnetBody({ networkId: 'n', cidr: 'fd00::/64', gatewayIp: null }), {
    network_id: 'n',
    cidr: 'fd00::/64',
    ip_version: 6,
    gateway_ip: null,
  });
  assert.equal(subnetBody({ networkId: 'n', cidr: '1.2.0.0/16' }).ip_version, 4);
  assert.deepEqual(subnetBody({ dnsNameservers: ['8.8.8.8'] }), { dns_nameservers: ['8.8.8.8'] });
  assert.deepEqual(routerBody({ externalGateway: null }), { external_gateway_info: {} });
  assert.deepEqual(securityGroupRuleBody({ securityGroupId: 'g', direction: 'ingress', protocol: 6 }), {
    security_group_id: 'g',
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: '6',
  });
});

test('filters: Neutron names, tag filters comma-joined, fixed IP conditions repeated, raw passed through', () => {
  assert.deepEqual(
    filterParams({
      networkId: 'n',
      hostId: ['a', 'b'],
      tags: ['x', 'y'],
      notTagsAny: ['z'],
      fixedIps: [{ subnetId: 's', ipAddress: '1.2.0.100' }],
      raw: { fields: ['id', 'name'] },
    }),
    {
      network_id: 'n',
      'binding:host_id': ['a', 'b'],
      tags: 'x,y',
      'not-tags-any': 'z',
      fixed_ips: ['subnet_id=s', 'ip_address=1.2.0.100'],
      fields: ['id', 'name'],
    },
  );
});

test('a Neutron port reply parses into a typed Port', () => {
  const p = portSchema.parse({
    id: 'p1',
    name: 'web',
    network_id: 'n1',
    tenant_id: 't1',
    mac_address: 'fa:16:3e:c2:12:20',
    admin_state_up: true,
    status: 'DOWN',
    device_id: 'd',
    device_owner: 'compute:nnet',
    fixed_ips: [{ subnet_id: 's1', ip_address: '1.2.0.100' }],
    security_groups: ['g'],
    tags: ['a'],
    description: '',
    'binding:host_id': 'node1',
    'binding:vif_type': 'ovs',
    'binding:vif_details': { port_filter: true },
    'binding:vnic_type': 'normal',
    'binding:profile': {},
    port_security_enabled: true,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    revision_number: 3,
    dns_name: 'ignored',
  });
  assert.equal(p.hostId, 'node1');
  assert.equal(p.vifType, 'ovs');
  assert.equal(p.projectId, 't1');
  assert.deepEqual(p.fixedIps, [{ subnetId: 's1', ipAddress: '1.2.0.100' }]);
  assert.equal(p.revisionNumber, 3);
  assert.equal(portSchema.safeParse({ id: 'p' }).success, false);
  const s = subnetSchema.parse({
    id: 's',
    network_id: 'n',
    ip_version: 4,
    cidr: '1.2.0.0/16',
    gateway_ip: null,
  });
  assert.equal(s.gatewayIp, null);
  assert.deepEqual(s.allocationPools, []);
});
