/**
 * The chassis / iface-id contract with the test environment's real Neutron (ML2/OVN) and OVN SB:
 * a Neutron port bound to a node (binding:host_id = the chassis hostname) and plugged there with
 * the internal driver goes ACTIVE, its SB Port_Binding names our chassis, and it goes DOWN after unplug.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parsePlugSpec, plug, unplug } from '../../src/plug/index.ts';
import { adminToken, ensureEnv, type TestEnv } from '../support/env.ts';
import { createNetns, onCleanup } from '../support/netns.ts';
import { type OvsNode, startOvsNode } from '../support/ovs-node.ts';

let env: TestEnv;
let node: OvsNode;
let token = '';
const tag = randomBytes(3).toString('hex');
const chassis = `nntp-ch-${tag}`;

const keystoneToken = adminToken;

// biome-ignore lint/suspicious/noExplicitAny: raw Neutron JSON in a test
async function neutron(method: string, path: string, body?: unknown): Promise<any> {
  const r = await fetch(`${env.neutronUrl}/v2.0/${path}`, {
    method,
    headers: { 'x-auth-token': token, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  if (!r.ok && !(method === 'DELETE' && r.status === 404))
    throw new Error(`Neutron ${method} ${path}: HTTP ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : {};
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

before(async () => {
  env = ensureEnv();
  token = await keystoneToken(env);
  const b = randomBytes(2);
  node = await startOvsNode({
    name: `nntp-ovn${tag}`,
    ovn: {
      sbRemote: env.ovnSb,
      nbRemote: env.ovnNb,
      chassis,
      encapIp: `100.100.${b[0]}.${1 + (b[1]! % 250)}`,
    },
  });
});
after(async () => {
  await node?.stop();
});

test('a Neutron port bound to the node and plugged with the internal driver goes ACTIVE, and DOWN after unplug', async (t) => {
  const sb = execFileSync('ovn-sbctl', [
    `--db=${env.ovnSb}`,
    '--bare',
    '--columns=hostname',
    'find',
    'Chassis',
    `name=${chassis}`,
  ])
    .toString()
    .trim();
  assert.equal(sb, chassis, 'the chassis did not register its hostname in the SB DB');
  // Neutron refuses to bind to a chassis it considers dead.
  await until('Neutron to see the OVN controller agent alive', async () => {
    const agents = (await neutron('GET', `agents?host=${chassis}`)).agents as { alive: boolean }[];
    return agents.length > 0 && agents.every((a) => a.alive) ? true : undefined;
  });

  const net = (await neutron('POST', 'networks', { network: { name: `nntp-net-${tag}` } })).network;
  onCleanup(t, () => neutron('DELETE', `networks/${net.id}`));
  const subnet = (
    await neutron('POST', 'subnets', {
      subnet: { network_id: net.id, cidr: '10.94.0.0/24', ip_version: 4, name: `nntp-sub-${tag}` },
    })
  ).subnet;
  const port = (
    await neutron('POST', 'ports', {
      port: {
        network_id: net.id,
        name: `nntp-port-${tag}`,
        device_owner: 'compute:nnet',
        device_id: `nntp-pod-${tag}`,
        'binding:host_id': chassis,
      },
    })
  ).port;
  onCleanup(t, () => neutron('DELETE', `ports/${port.id}`));
  assert.notEqual(
    port['binding:vif_type'],
    'binding_failed',
    'Neutron could not bind the port to the chassis',
  );
  assert.equal(port.status, 'DOWN');

  const pod = createNetns('nntp');
  onCleanup(t, () => pod.remove());
  const settings = node.plugSettings({ driver: 'internal' });
  const spec = parsePlugSpec({
    portId: port.id,
    mac: port.mac_address,
    ips: [{ address: port.fixed_ips[0].ip_address, prefixLength: 24 }],
    routes: [{ dst: '0.0.0.0/0', gateway: subnet.gateway_ip }],
    mtu: Math.min(net.mtu, 1500),
    netns: pod.path,
    ifname: 'eth0',
    podNamespace: 'default',
    podName: `nntp-pod-${tag}`,
  });
  onCleanup(t, () => unplug(settings, spec));
  await plug(settings, spec);

  await until('the Neutron port to become ACTIVE', async () =>
    (await neutron('GET', `ports/${port.id}`)).port.status === 'ACTIVE' ? true : undefined,
  );
  const bound = execFileSync('ovn-sbctl', [
    `--db=${env.ovnSb}`,
    '--bare',
    '--columns=chassis',
    'find',
    'Port_Binding',
    `logical_port=${port.id}`,
  ])
    .toString()
    .trim();
  const ours = execFileSync('ovn-sbctl', [
    `--db=${env.ovnSb}`,
    '--bare',
    '--columns=_uuid',
    'find',
    'Chassis',
    `name=${chassis}`,
  ])
    .toString()
    .trim();
  assert.equal(bound, ours, 'the SB Port_Binding is not claimed by our chassis');

  await unplug(settings, spec);
  await until('the Neutron port to go DOWN after unplug', async () =>
    (await neutron('GET', `ports/${port.id}`)).port.status === 'DOWN' ? true : undefined,
  );
});
