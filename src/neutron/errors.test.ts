import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NeutronError } from '../errors/index.ts';
import { errorFromResponse, parseFault } from './errors.ts';

const fault = (type: string, message: string) =>
  JSON.stringify({ NeutronError: { type, message, detail: '' } });
const ctx = { what: 'creating port "p1" on network n1' };

test('IpAddressAlreadyAllocated is ip-taken, naming the IP and the subnet', () => {
  const e = errorFromResponse(
    409,
    fault('IpAddressAlreadyAllocated', 'IP address 1.2.0.100 already allocated in subnet 4f2b-sub'),
    ctx,
  );
  assert.ok(e instanceof NeutronError);
  assert.equal(e.reason, 'ip-taken');
  assert.equal(e.status, 409);
  assert.equal(e.neutronType, 'IpAddressAlreadyAllocated');
  assert.match(
    e.message,
    /^creating port "p1" on network n1: IP 1\.2\.0\.100 is already allocated in subnet 4f2b-sub/,
  );
  assert.equal(e.retryable, false);
});

test('ip-taken with an unfamiliar message falls back to the IP and subnet that were asked for', () => {
  const e = errorFromResponse(409, fault('IpAddressAlreadyAllocated', 'taken'), {
    ...ctx,
    ip: '10.0.0.5',
    subnetId: 's9',
  });
  assert.match(e.message, /IP 10\.0\.0\.5 is already allocated in subnet s9/);
});

test('statuses and Neutron types map to reasons', () => {
  const cases: [number, string, string][] = [
    [409, fault('MacAddressInUse', 'mac in use'), 'conflict'],
    [409, fault('OverQuota', 'Quota exceeded for resources: [port].'), 'over-quota'],
    [413, 'too many', 'over-quota'],
    [404, fault('PortNotFound', 'Port x could not be found.'), 'not-found'],
    [
      400,
      fault('HTTPBadRequest', "Invalid input for cidr. Reason: 'x' is not a valid IP subnet."),
      'bad-request',
    ],
    [403, fault('PolicyNotAuthorized', 'not allowed'), 'forbidden'],
    [500, fault('HTTPInternalServerError', 'Request Failed: internal server error'), 'unavailable'],
    [503, '<html><body><h1>503 Service Unavailable</h1></body></html>', 'unavailable'],
    [429, '', 'unavailable'],
    [422, '', 'bad-request'],
  ];
  for (const [status, body, reason] of cases) {
    const e = errorFromResponse(status, body, ctx);
    assert.equal(e.reason, reason, `${status} ${body}`);
    assert.equal(e.retryable, reason === 'unavailable');
    assert.ok(e.message.startsWith(`${ctx.what} failed: `), e.message);
    assert.ok(e.message.includes(`HTTP ${status}`), e.message);
  }
});

test('the fault body is read from NeutronError, a plain message, or HTML text', () => {
  assert.deepEqual(parseFault(fault('T', 'm')), { type: 'T', message: 'm', detail: undefined });
  assert.deepEqual(parseFault('{"NeutronError": "just text"}'), {
    type: undefined,
    message: 'just text',
    detail: undefined,
  });
  assert.equal(parseFault('<html><h1>502 Bad Gateway</h1></html>').message, '502 Bad Gateway');
  assert.equal(parseFault('').message, undefined);
});
