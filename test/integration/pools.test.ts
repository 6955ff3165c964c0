/**
 * nnet-agent's warm port pools on a real node (own OVS + ovn-controller joined to the env's OVN),
 * against the real Keystone and Neutron, through the thin plugin and libcni: a pool's whole life
 * (fill in one bulk request, take, recycle, refill, agent restart, drain, cluster delete) and what
 * each side says at each step (Neutron's ports and their holders, OVS, the store's record, the
 * agent's metrics). No timing is asserted: waits have generous deadlines.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { findPort } from '../../src/plug/index.ts';
import { poolDeviceId, releaseClusterNodes } from '../../src/resources/index.ts';
import { agentMetric } from '../support/agent.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import type { HarnessResult } from '../support/cni.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';
import { poolLeaks, poolView, setPoolSettings } from '../support/pools.ts';

const cid = () => randomBytes(16).toString('hex');
const podArgs = (ns: string, pod: string) => ({ K8S_POD_NAMESPACE: ns, K8S_POD_NAME: pod });

function ok(r: HarnessResult, what: string): Record<string, unknown> {
  assert.equal(r.code, 0, `${what} failed: ${r.stdout} ${r.stderr}`);
  return r.json ?? {};
}

async function waitFor(
  what: string,
  fn: () => Promise<boolean> | boolean,
  ms = 120_000,
  show?: () => Promise<unknown>,
): Promise<void> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      if (await fn()) return;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  const seen = show ? ` (then: ${JSON.stringify(await show().catch(String))})` : '';
  assert.fail(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}${seen}`);
}

const ipOf = (r: Record<string, unknown>) => (r.ips as { address: string }[])[0]!.address.split('/')[0]!;

describe('a warm port pool, its whole life', () => {
  let c: TestCluster;
  const pods: TestNetns[] = [];
  const pod = () => {
    const p = createNetns('nntp');
    pods.push(p);
    return p;
  };
  before(async () => {
    c = await startTestCluster({ prefix: 'nntp', backend: 'etcd' });
  });
  after(async () => {
    for (const p of pods) p.remove();
    await c?.stop();
  });

  test('fill, take, recycle, refill, restart, drain, cluster delete: each side agrees at each step, nothing leaks', async () => {
    // Fill: 2 ports in one bulk request, bound to the node, tagged, plugged, claimed by OVN.
    await setPoolSettings(c, { min: 2, max: 6, batch: 2 });
    await waitFor('the pool to fill to 2', async () => (await poolView(c)).records[0]?.ready === 2);
    let v = await poolView(c);
    assert.equal(v.neutron.length, 2);
    assert.equal(v.free.length, 2);
    for (const p of v.neutron) {
      assert.equal(p.hostId, c.name, 'bound to the node');
      assert.ok(p.tags.includes('nnet') && p.tags.includes(`nnet-cluster=${c.name}`), p.tags.join(','));
      assert.equal(p.name, poolDeviceId(c.name));
      const ovs = await findPort(c.node.plugSettings(), p.id);
      assert.equal(ovs?.driver, 'pool', 'pre-plugged as a pool port');
      assert.equal(ovs?.externalIds['ovn-installed'], 'true', 'claimed by OVN before any pod asks');
    }
    assert.deepEqual(new Set(v.ovsFree), new Set(v.neutron.map((p) => p.id)));
    assert.equal(await agentMetric(c.agent, 'nnet_pool_ports_created_total'), 2);
    const firstFill = new Set(v.neutron.map((p) => p.id));

    // Take: an ADD gets one of the ready ports, and no port is made for it.
    const p1 = pod();
    const call1 = { id: cid(), netns: p1.path, args: podArgs('pools', 'p1') };
    const r1 = ok(c.rt.call('add', call1), 'ADD p1');
    const ip1 = ipOf(r1);
    const taken = v.neutron.find((p) => p.fixedIps.some((f) => f.ipAddress === ip1));
    assert.ok(taken, `p1's IP ${ip1} is a pool port's`);
    assert.equal(await agentMetric(c.agent, 'nnet_pool_hits_total'), 1);
    assert.equal(p1.run(['ip', 'link', 'show', 'eth0']).code, 0);
    const row = await c.store.attachments.get({ containerId: call1.id, ifname: 'eth0' });
    assert.equal(row?.portId, taken.id);
    assert.ok(row?.pool, 'the record names the pool');
    // Neutron's fields name the pod, in the background; the pool refills.
    await waitFor('Neutron to name p1 as the holder', async () => {
      const p = await c.neutron.ports.get(taken.id);
      return p.deviceId === call1.id && p.name === 'nnet-pools-p1' && p.tags.includes('nnet-pod=p1');
    });
    // Below min, a refill makes a batch, up to max ready.
    await waitFor('the pool to refill', async () => ((await poolView(c)).records[0]?.ready ?? 0) >= 2);
    v = await poolView(c);
    assert.equal(v.records[0]?.inUse, 1);
    assert.ok(v.neutron.length <= 6 + 1, `at most max ready plus the one in use: ${v.neutron.length}`);

    // Recycle: DEL gives the port back while fewer than max are ready (no Neutron delete).
    ok(c.rt.call('del', call1), 'DEL p1');
    assert.equal((await c.neutron.ports.get(taken.id)).id, taken.id, 'the port was not deleted');
    assert.equal(p1.run(['ip', 'link', 'show', 'eth0']).code, 1, 'the pod lost its NIC');
    assert.equal(await agentMetric(c.agent, 'nnet_pool_ports_recycled_total'), 1);
    const back = await findPort(c.node.plugSettings(), taken.id);
    assert.equal(back?.driver, 'pool');
    await waitFor('Neutron to name the pool as the holder again', async () => {
      const p = await c.neutron.ports.get(taken.id);
      return p.deviceId === poolDeviceId(c.name) && !p.tags.includes('nnet-pod=p1');
    });
    assert.deepEqual(await poolLeaks(c), []);

    // Churn past max: 4 pods at once, then all DEL'd; the pool keeps at most 6 ready.
    const calls = Array.from({ length: 4 }, (_, i) => ({
      id: cid(),
      netns: pod().path,
      args: podArgs('pools', `c${i}`),
    }));
    const adds = await Promise.all(calls.map((x) => c.rt.callAsync('add', x)));
    const ips = adds.map((r, i) => ipOf(ok(r, `ADD c${i}`)));
    assert.equal(new Set(ips).size, 4);
    for (const [i, r] of (await Promise.all(calls.map((x) => c.rt.callAsync('del', x)))).entries())
      ok(r, `DEL c${i}`);
    await waitFor('the pool to settle within min..max', async () => {
      const r = (await poolView(c)).records[0];
      return !!r && r.inUse === 0 && r.ready >= 2 && r.ready <= 6;
    });
    await waitFor(
      'no leak once the owner updates are through',
      async () => (await poolLeaks(c)).length === 0,
    );
    v = await poolView(c);
    assert.equal(v.free.length, v.records[0]!.ready);

    // Restart: the new agent finds the same ports (by their tags) and makes none.
    const before = new Set(v.free.map((p) => p.id));
    await c.restartAgent({ kill: true });
    await waitFor(
      'the restarted agent to record its pools',
      async () => {
        const r = (await poolView(c)).records[0];
        return !!r && r.ready === before.size;
      },
      120_000,
      async () => ({
        before: before.size,
        records: (await poolView(c)).records,
        pid: c.agent.pid,
        log: c.agent.lines().map((l) => `${l.pid} ${l.ts} ${l.msg} ${l.error ?? ''}`),
      }),
    );
    assert.equal(
      await agentMetric(c.agent, 'nnet_pool_ports_created_total'),
      0,
      'no port made after the restart',
    );
    assert.deepEqual(new Set((await poolView(c)).free.map((p) => p.id)), before);
    const p2 = pod();
    const call2 = { id: cid(), netns: p2.path, args: podArgs('pools', 'p2') };
    const ip2 = ipOf(ok(c.rt.call('add', call2), 'ADD p2 after the restart'));
    assert.ok(
      (await poolView(c)).neutron.some(
        (p) => before.has(p.id) && p.fixedIps.some((f) => f.ipAddress === ip2),
      ),
      'p2 got a port the pool had before the restart',
    );
    assert.ok([...before].some((id) => firstFill.has(id)) || before.size > 0);

    // Drain: pools off; the free ports go, the held one goes at its DEL.
    await setPoolSettings(c, undefined);
    await waitFor('the pool to drain', async () => (await poolView(c)).free.length === 0);
    assert.deepEqual((await poolView(c)).ovsFree, []);
    ok(c.rt.call('del', call2), 'DEL p2');
    await waitFor('the held port to go with its DEL', async () => (await poolView(c)).neutron.length === 0);
    assert.deepEqual(await poolLeaks(c), []);

    // Cluster delete drains too: pools on again, then kubenetctl's release of the cluster's nodes.
    await setPoolSettings(c, { min: 2, max: 2, batch: 2 });
    await waitFor('the pool to fill to 2', async () => (await poolView(c)).free.length === 2);
    await c.agent.stop(); // as when the cluster is gone: no agent refills behind the delete
    await releaseClusterNodes(c.neutron, c.name, (await c.store.clusters.get(c.name))?.nodeAccess);
    assert.deepEqual((await poolView(c)).neutron, [], "deleting the cluster deletes its pools' free ports");
    await setPoolSettings(c, undefined);
    await c.restartAgent();
    await waitFor(
      'the agent to unplug pool ports Neutron no longer has',
      async () => (await poolView(c)).ovsFree.length === 0,
    );
  });
});
