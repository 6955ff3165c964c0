/**
 * ovsdb-server restarts on a node (killed, started again on the same database): pods keep their
 * traffic (the data path is ovs-vswitchd's), the running agent's OVSDB watch reconnects, and the
 * plugin works again: a new pod is added, CHECKed and deleted, and an ovs-vswitchd restart after
 * that is still repaired by the agent.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

let c: TestCluster;
/** The node agent's log so far (the fixture's agent, one per node). */
const agentLog = () =>
  c.agent
    .lines()
    .map((l) => JSON.stringify(l))
    .join('\n');
const netnses: TestNetns[] = [];
const calls: { id: string; netns: string; args: Record<string, string> }[] = [];

async function add(pod: string): Promise<{ netns: TestNetns; ip: string; call: (typeof calls)[number] }> {
  const netns = createNetns('nnto');
  netnses.push(netns);
  const call = {
    id: `${pod}-id`,
    netns: netns.path,
    args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: pod },
  };
  const r = await c.rt.callAsync('add', call);
  assert.equal(r.code, 0, `ADD ${pod}: ${r.stdout}`);
  calls.push(call);
  return { netns, call, ip: ((r.json?.ips ?? []) as { address: string }[])[0]!.address.split('/')[0]! };
}

async function pings(from: TestNetns, to: string, deadlineMs = 30_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const r = from.run(['ping', '-c', '3', '-i', '0.2', '-W', '2', to], { timeoutMs: 15_000 });
    if (r.code === 0 && / 0% packet loss/.test(r.stdout)) return;
    if (Date.now() > until) throw new Error(`ping ${to}: ${r.stdout}`);
  }
}

async function waitFor(
  what: string,
  fn: () => boolean | Promise<boolean>,
  deadlineMs = 60_000,
): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

before(async () => {
  c = await startTestCluster({
    prefix: 'nnto',
    backend: 'sqlite',
    agentArgs: ['--reconcile-interval', '5s'],
  });
});
after(async () => {
  for (const call of calls) c.rt.call('del', call);
  for (const n of netnses) n.remove();
  await c?.stop();
});

test('ovsdb-server killed and restarted: pods keep traffic, the agent reconnects, ADD/CHECK/DEL work again', async () => {
  const a = await add('a');
  const b = await add('b');
  await waitFor('the agent to watch OVSDB', () => agentLog().includes('watching OVSDB'));
  await pings(a.netns, b.ip);

  await c.node.restartOvsdbServer('SIGKILL');
  await pings(a.netns, b.ip); // the data path never depended on ovsdb-server
  const watches = () => agentLog().split('watching OVSDB').length - 1;
  await waitFor('the agent to watch the new ovsdb-server', () => watches() >= 2);

  const d = await add('d');
  await pings(d.netns, a.ip);
  // CHECK wants the port ACTIVE in Neutron, which follows OVN's claim (ADD answers on the claim).
  const portId = (await c.store.attachments.get({ containerId: d.call.id, ifname: 'eth0' }))!.portId;
  await waitFor(
    'Neutron to show the port ACTIVE',
    async () => (await c.neutron.ports.get(portId)).status === 'ACTIVE',
  );
  const r = c.rt.call('check', d.call);
  assert.equal(r.code, 0, r.stdout);

  // The watch works on the new server: a vswitchd restart after it is repaired by the agent alone.
  await c.node.restartVswitchd('SIGKILL');
  await waitFor(
    'the agent to re-plug the pods',
    () => (agentLog().match(/re-plugged pod NIC/g) ?? []).length >= 3,
  );
  await pings(a.netns, b.ip);
  await pings(d.netns, a.ip);
  assert.equal(c.rt.call('del', d.call).code, 0);
});
