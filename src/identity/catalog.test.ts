import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdentityError } from '../errors/index.ts';
import { findEndpoint, parseCatalog } from './catalog.ts';

// The shape Keystone returns in token.catalog.
const raw = [
  {
    type: 'network',
    name: 'neutron',
    id: 's1',
    endpoints: [
      { id: 'e1', interface: 'public', region_id: 'R1', region: 'R1', url: 'http://pub-r1:9696/' },
      { id: 'e2', interface: 'internal', region_id: 'R1', region: 'R1', url: 'http://int-r1:9696' },
      { id: 'e3', interface: 'public', region_id: 'R2', region: 'R2', url: 'http://pub-r2:9696' },
    ],
  },
  {
    type: 'identity',
    name: 'keystone',
    endpoints: [{ interface: 'public', region_id: 'R1', url: 'http://ks/v3/' }],
  },
  { name: 'no type: dropped' },
];

test('the endpoint is chosen by service type, interface and region, without a trailing slash', () => {
  const c = parseCatalog(raw);
  assert.equal(findEndpoint(c, 'network', { interface: 'public', region: 'R1' }), 'http://pub-r1:9696');
  assert.equal(findEndpoint(c, 'network', { interface: 'internal', region: 'R1' }), 'http://int-r1:9696');
  assert.equal(findEndpoint(c, 'network', { interface: 'public', region: 'R2' }), 'http://pub-r2:9696');
  assert.equal(findEndpoint(c, 'network', { interface: 'public', region: undefined }), 'http://pub-r1:9696');
  assert.equal(findEndpoint(c, 'identity', { interface: 'public', region: undefined }), 'http://ks/v3');
});

test('a missing service or interface/region is a no-endpoint error listing what the catalog has', () => {
  const c = parseCatalog(raw);
  assert.throws(
    () => findEndpoint(c, 'compute', { interface: 'public', region: 'R1' }),
    (e: unknown) =>
      e instanceof IdentityError &&
      e.reason === 'no-endpoint' &&
      /no compute endpoint/.test(e.message) &&
      /network, identity/.test(e.message),
  );
  assert.throws(
    () => findEndpoint(c, 'network', { interface: 'admin', region: 'R2' }),
    (e: unknown) =>
      e instanceof IdentityError &&
      e.message.includes('interface admin, region R2') &&
      e.message.includes('public@R1, internal@R1, public@R2'),
  );
});

test('a malformed catalog parses to what is usable', () => {
  assert.deepEqual(parseCatalog(undefined), []);
  assert.deepEqual(
    parseCatalog([{ type: 'x', endpoints: [{ url: 1 }, null, { url: 'u', interface: 'public' }] }]),
    [{ type: 'x', name: undefined, endpoints: [{ url: 'u', interface: 'public', region: undefined }] }],
  );
});
