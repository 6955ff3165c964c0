import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InterfaceEvent, OvsPort } from '../plug/index.ts';
import type { Attachment } from '../store/index.ts';
import { noteInterface, planReplugs, sweepActionCounts, type TapIndex } from './plan.ts';

const P1 = '11111111-1111-4111-8111-111111111111';
const P2 = '22222222-2222-4222-8222-222222222222';

function port(ifaceId: string | undefined, ifindex: number | undefined): OvsPort {
  return {
    name: `nn${(ifaceId ?? '000000000000').replace(/-/g, '').slice(0, 12)}`,
    type: 'internal',
    ifaceId,
    externalIds: ifaceId ? { 'iface-id': ifaceId } : {},
    ofport: 1,
    ifindex,
    error: undefined,
    driver: 'internal',
  };
}
const ev = (kind: InterfaceEvent['kind'], p: OvsPort) => ({ kind, port: p }) as InterfaceEvent;

function attachment(portId: string, over: Partial<Attachment> = {}): Attachment {
  return {
    containerId: `c-${portId.slice(0, 4)}`,
    ifname: 'eth0',
    cluster: 'c1',
    namespace: 'team-a',
    pod: `pod-${portId.slice(0, 1)}`,
    netns: `/var/run/netns/${portId.slice(0, 4)}`,
    node: 'node-1',
    portId,
    portCreatedByAdd: true,
    ips: [
      { address: 'fd00::5', prefixLength: 64, gateway: 'fd00::1' },
      { address: '1.2.0.5', prefixLength: 16, gateway: '1.2.0.1' },
    ],
    routes: [{ dst: '0.0.0.0/0', gateway: '1.2.0.1' }],
    mac: 'fa:16:3e:00:00:05',
    mtu: 1442,
    plugDriver: 'internal',
    ovsPort: 'nn111111111111',
    createdAt: '2025-01-01T00:00:00.000Z',
    ...over,
  };
}

test("a device appearing in vswitchd's netns for a plugged internal port means its tap was recreated", () => {
  const taps: TapIndex = new Map();
  assert.equal(noteInterface(taps, ev('initial', port(P1, 0))), undefined, 'plugged: the tap is in the pod');
  assert.equal(noteInterface(taps, ev('modify', port(P1, 0))), undefined);
  assert.equal(noteInterface(taps, ev('modify', port(P1, 6))), P1, 'vswitchd restarted and made a new tap');
  assert.equal(noteInterface(taps, ev('modify', port(P1, 6))), undefined, 'reported once');
  assert.equal(noteInterface(taps, ev('modify', port(P1, 0))), undefined, 're-plugged: in the pod again');
  assert.equal(noteInterface(taps, ev('modify', port(P1, 6))), P1, 'restarted once more');
  assert.equal(noteInterface(taps, ev('modify', port(P1, undefined))), undefined, 'not known is not news');
});

test('a port first seen with a device is only remembered; a different device later is news', () => {
  const taps: TapIndex = new Map();
  assert.equal(noteInterface(taps, ev('initial', port(P1, 10))), undefined);
  assert.equal(noteInterface(taps, ev('modify', port(P1, 10))), undefined, 'same device (e.g. hybrid veth)');
  assert.equal(noteInterface(taps, ev('modify', port(P1, 42))), P1);
});

test('ports N-Net did not make, and deleted ports, never trigger a re-plug', () => {
  const taps: TapIndex = new Map();
  noteInterface(taps, ev('initial', { ...port(P1, 10), driver: undefined }));
  assert.equal(
    noteInterface(taps, ev('modify', { ...port(P1, 11), driver: undefined })),
    undefined,
    'foreign port',
  );
  noteInterface(taps, ev('initial', port(P2, 20)));
  assert.equal(noteInterface(taps, ev('delete', port(P2, 0))), undefined);
  assert.equal(taps.has(P2), false, 'a deleted port is forgotten');
  assert.equal(noteInterface(taps, ev('modify', port(undefined, 5))), undefined, 'no iface-id');
});

test('the plan re-plugs suspects with a live netns and an OVS port, and says why it skips the others', () => {
  const a1 = attachment(P1);
  const a2 = attachment(P2);
  const gone = attachment('33333333-3333-4333-8333-333333333333');
  const elsewhere = attachment('44444444-4444-4444-8444-444444444444', { node: 'node-2' });
  const ports = new Map([
    [P1, port(P1, 1)],
    [gone.portId, port(gone.portId, 3)],
    [elsewhere.portId, port(elsewhere.portId, 4)],
  ]);
  const alive = (p: string) => p !== gone.netns;
  const all = planReplugs({
    node: 'node-1',
    attachments: [a1, a2, gone, elsewhere],
    ports,
    suspects: 'all',
    netnsAlive: alive,
  });
  assert.deepEqual(
    all.replug.map((a) => a.portId),
    [P1],
  );
  assert.deepEqual(
    all.skipped.map((s) => [s.attachment.portId, s.why]),
    [
      [P2, 'no-ovs-port'],
      [gone.portId, 'netns-gone'],
      [elsewhere.portId, 'other-node'],
    ],
  );
  const some = planReplugs({
    node: 'node-1',
    attachments: [a1, a2],
    ports,
    suspects: new Set([P2]),
    netnsAlive: alive,
  });
  assert.deepEqual(some.replug, [], 'only suspects are looked at');
  assert.equal(some.skipped.length, 1);
});

test('sweep reports become counts per reconcile action kind', () => {
  assert.deepEqual(
    sweepActionCounts({ attachmentsReleased: ['a', 'b'], ovsPortsRemoved: [], neutronPortsReleased: ['p'] }),
    { attachment_released: 2, ovs_port_removed: 0, neutron_port_released: 1 },
  );
});
