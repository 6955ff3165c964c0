import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildQuery, nextPageQuery } from './query.ts';

test('query parameters: arrays become repeated keys, undefined is left out, values are encoded', () => {
  assert.equal(
    buildQuery({ id: ['a', 'b'], limit: 5, shared: false, marker: undefined, 'binding:host_id': 'n 1' }),
    'id=a&id=b&limit=5&shared=false&binding%3Ahost_id=n+1',
  );
  assert.equal(
    buildQuery({ fixed_ips: ['ip_address=1.2.0.100', 'subnet_id=s'] }),
    'fixed_ips=ip_address%3D1.2.0.100&fixed_ips=subnet_id%3Ds',
  );
  assert.equal(buildQuery({}), '');
});

test('the next page is the query of the rel=next link, whatever host the link names', () => {
  const reply = {
    ports: [{ id: 'p5' }],
    ports_links: [
      { rel: 'previous', href: 'http://proxy.example/v2.0/ports?limit=5&marker=p1&page_reverse=True' },
      { rel: 'next', href: 'http://proxy.example/v2.0/ports?limit=5&network_id=n&marker=p5' },
    ],
  };
  assert.equal(nextPageQuery(reply, 'ports'), 'limit=5&network_id=n&marker=p5');
});

test('no next link, a link of another collection, or junk means the last page', () => {
  assert.equal(
    nextPageQuery(
      { ports: [], ports_links: [{ rel: 'previous', href: 'http://x/v2.0/ports?a=1' }] },
      'ports',
    ),
    undefined,
  );
  assert.equal(
    nextPageQuery({ networks_links: [{ rel: 'next', href: 'http://x/?a=1' }] }, 'ports'),
    undefined,
  );
  assert.equal(nextPageQuery({ ports_links: 'nope' }, 'ports'), undefined);
  assert.equal(
    nextPageQuery({ ports_links: [{ rel: 'next', href: 'http://x/v2.0/ports' }] }, 'ports'),
    undefined,
  );
  assert.equal(nextPageQuery(null, 'ports'), undefined);
  assert.equal(
    nextPageQuery(
      { security_groups_links: [{ rel: 'next', href: '/v2.0/security-groups?marker=s' }] },
      'security_groups',
    ),
    'marker=s',
  );
});
