/**
 * A node that vanishes — its processes killed outright (SIGKILL), its netns gone, its chassis
 * gone from OVN — is released by the other node's agent within a few reconcile intervals: the
 * ports ADD made for its pods are deleted, its static-IP reservations unbound and kept for the
 * pods' next start elsewhere, its own port released, its records gone. The static IP then starts
 * on the surviving node.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { DEVICE_OWNER, NODE_PORT_OWNER, reservePort } from '../../src/resources/index.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

const PREFIX = 'nntn';
let c: TestCluster;
const netnses: TestNetns[] = [];
const undo: (() => unknown)[] = [];

async function waitFor(what: string, fn: () => Promise<boolean>, deadlineMs = 120_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function add(i: number, pod: string) {
  const netns = createNetns(PREFIX);
  netnses.push(netns);
  const call = {
    id: `${pod}-id`,
    netns: netns.path,
    args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: pod },
  };
  const r = await c.rts[i]!.callAsync('add', call);
  assert.equal(r.code, 0, `ADD ${pod}: ${r.stdout}`);
  undo.push(() => c.rts[0]!.call('del', call));
  return { call, netns };
}

before(async () => {
  // Each node's agent (the fixture's) reports in every 2 s and sweeps without grace.
  c = await startTestCluster({
    prefix: PREFIX,
    backend: 'sqlite',
    nodes: 2,
    agentArgs: ['--reconcile-interval', '2s', '--grace', '0s'],
  });
});
after(async () => {
  for (const f of undo.reverse())
    await Promise.resolve()
      .then(f)
      .catch(() => undefined);
  for (const n of netnses) n.remove();
  await c?.stop();
});

test('a node killed outright is released by the other node’s agent; its static IP restarts on the survivor', async () => {
  const ref = { cluster: c.name, namespace: 'default', pod: 'static' };
  const fixedIps = [{ subnetId: c.subnet.id, ip: '1.2.0.77' }];
  const reserved = await reservePort(c.neutron, { pod: ref, networkId: c.network.id, fixedIps });
  undo.push(() => c.neutron.ports.ensureDeleted(reserved.id));
  await c.store.podConfigs.create({
    ...ref,
    nics: [{ ifname: 'eth0', networkId: c.network.id, fixedIps, reservedPortId: reserved.id }],
  });
  await add(1, 'static');
  const made = await add(1, 'dynamic');
  await add(0, 'survivor');
  const gone = c.nodes[1]!;
  const madePort = (await c.store.attachments.get({ containerId: made.call.id, ifname: 'eth0' }))!.portId;
  await waitFor("node 2's agent to report in", async () => {
    return !!(await c.store.nodes.get({ cluster: c.name, name: gone.name }))?.seenAt;
  });

  // Node 2 vanishes: every process SIGKILLed, its netns deleted, its chassis gone from OVN.
  await c.agents[1]!.kill();
  for (const pid of [gone.pids.ovnController, gone.pids.vswitchd, gone.pids.ovsdbServer])
    if (pid) process.kill(pid, 'SIGKILL');
  execFileSync('ip', ['netns', 'del', gone.netnsName]);
  execFileSync('ovn-sbctl', [`--db=${c.env.ovnSb}`, '--if-exists', 'chassis-del', gone.name]);
  const killedAt = Date.now();

  await waitFor('node 2 to be released', async () => {
    const [node, bound] = await Promise.all([
      c.store.nodes.get({ cluster: c.name, name: gone.name }),
      c.neutron.ports.list({ hostId: gone.name }),
    ]);
    return !node && bound.length === 0;
  });
  // A figure for docs/reliability.md, not an assertion: the deadline above is what is checked.
  console.log(
    `reliability(node-loss): released-after=${((Date.now() - killedAt) / 1000).toFixed(1)}s pods-on-lost-node=2 static-ip-kept=1`,
  );
  await assert.rejects(
    c.neutron.ports.get(madePort),
    /PortNotFound/,
    'the port ADD made for the pod is deleted',
  );
  const kept = await c.neutron.ports.get(reserved.id);
  assert.equal(kept.hostId, '', 'the reservation is unbound');
  assert.equal(kept.fixedIps[0]?.ipAddress, '1.2.0.77', 'and keeps its IP');
  assert.deepEqual(await c.store.attachments.list({ node: gone.name }), []);
  const nodePorts = await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: NODE_PORT_OWNER });
  assert.deepEqual(
    nodePorts.map((p) => p.hostId),
    [c.nodes[0]!.name],
    'only the survivor has a node port',
  );

  // The pod starts again on the surviving node with its static IP.
  const again = createNetns(PREFIX);
  netnses.push(again);
  const call = {
    id: 'static-again',
    netns: again.path,
    args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'static' },
  };
  const r = await c.rts[0]!.callAsync('add', call);
  assert.equal(r.code, 0, r.stdout);
  undo.push(() => c.rts[0]!.call('del', call));
  assert.equal(((r.json?.ips ?? []) as { address: string }[])[0]?.address, '1.2.0.77/16');
  assert.equal(
    (await c.neutron.ports.list({ hostId: c.nodes[0]!.name, deviceOwner: DEVICE_OWNER })).length,
    2,
  );
});
