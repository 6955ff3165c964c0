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
import { DEVICE_OWNER, poolDeviceId, releaseClusterNodes, reservePort } from '../../src/resources/index.ts';
import { agentMetric } from '../support/agent.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import type { HarnessResult } from '../support/cni.ts';
import { clusterKubenetctl } from '../support/kubenetctl.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';
import { poolLeaks, poolView, setPoolSettings } from '../support/pools.ts';
import { createTestProject, type TestProject } from '../support/project.ts';

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

/** kubenetctl (the built one) on the test cluster's store, as its admin. */
const kubenetctl = (c: TestCluster, args: string[]) => clusterKubenetctl(c, args, 'admin');

function pings(from: TestNetns, ip: string, count = 1): { sent: number; received: number } {
  const r = from.run(['ping', '-c', String(count), '-i', '0.2', '-W', '2', ip], { timeoutMs: 30_000 });
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(r.stdout);
  return { sent: Number(m?.[1] ?? count), received: Number(m?.[2] ?? 0) };
}

/** A pod's reserved static IP, as kubenetctl makes it: the Neutron port, the store's config. */
async function reserve(c: TestCluster, pod: string, ip: string): Promise<string> {
  const ref = { cluster: c.name, namespace: 'pools', pod };
  const fixedIps = [{ subnetId: c.subnet.id, ip }];
  const port = await reservePort(c.neutron, { pod: ref, networkId: c.network.id, fixedIps });
  await c.store.podConfigs.create({
    ...ref,
    nics: [{ ifname: 'eth0', networkId: c.network.id, fixedIps, reservedPortId: port.id }],
  });
  return port.id;
}

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
    const set = kubenetctl(c, [
      'set',
      'cluster',
      c.name,
      '--pool-min',
      '2',
      '--pool-max',
      '6',
      '--pool-batch',
      '2',
    ]);
    assert.equal(set.status, 0, set.stderr);
    assert.equal(set.stdout, `cluster/${c.name} configured\n`);
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
    const got = kubenetctl(c, ['get', 'pools']);
    assert.equal(got.status, 0, got.stderr);
    assert.match(got.stdout, /^NODE +NETWORK +READY +IN-USE +TARGET +AGE\n/);
    assert.match(got.stdout, new RegExp(`\\n${c.name} +${c.network.id} +2 +0 +2 +\\S+\\n$`));
    const json = JSON.parse(kubenetctl(c, ['get', 'pools', '-o', 'json']).stdout);
    assert.equal(json.items[0].status.ready, 2);
    assert.equal(json.items[0].spec.max, 6);
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
    await waitFor('the pool to refill, one port in use', async () => {
      const r = (await poolView(c)).records[0];
      return !!r && r.ready >= 2 && r.inUse === 1;
    });
    v = await poolView(c);
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
    // Settled: no refill in flight, so the record, Neutron and OVS agree, twice, 3 s apart (a
    // refill started during the churn may still be creating ports after ready is back over min).
    const settled = async () => {
      const w = await poolView(c);
      const r = w.records[0];
      return r &&
        r.inUse === 0 &&
        r.ready >= 2 &&
        r.ready <= 6 &&
        r.ready === w.free.length &&
        w.ovsFree.length === r.ready
        ? `${r.ready} ${w.free
            .map((p) => p.id)
            .sort()
            .join(',')}`
        : undefined;
    };
    await waitFor('the pool to settle within min..max', async () => {
      const first = await settled();
      if (!first) return false;
      await sleep(3000);
      return (await settled()) === first;
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

describe('pools under faults, load and the first ping', () => {
  let c: TestCluster;
  const pods: TestNetns[] = [];
  const pod = () => {
    const p = createNetns('nntp');
    pods.push(p);
    return p;
  };
  before(async () => {
    c = await startTestCluster({ prefix: 'nntp', backend: 'sqlite', faulty: true });
    await setPoolSettings(c, { min: 2, max: 4, batch: 2 });
    await waitFor('the pool to fill', async () => (await poolView(c)).free.length >= 2);
  });
  after(async () => {
    for (const p of pods) p.remove();
    await c?.stop();
  });

  test('the first ping right after ADD returns loses nothing: a pooled pod, a static-IP pod, both ways', async () => {
    const a = pod();
    const callA = { id: cid(), netns: a.path, args: podArgs('pools', 'ping-a') };
    const ipA = ipOf(ok(c.rt.call('add', callA), 'ADD pooled ping-a'));
    await reserve(c, 'ping-s', '1.2.0.150');
    const s = pod();
    const callS = { id: cid(), netns: s.path, args: podArgs('pools', 'ping-s') };
    const resS = ok(c.rt.call('add', callS), 'ADD static ping-s');
    const fromS = pings(s, ipA, 5); // sent the moment ADD returned
    const b = pod();
    const callB = { id: cid(), netns: b.path, args: podArgs('pools', 'ping-b') };
    ok(c.rt.call('add', callB), 'ADD pooled ping-b');
    const fromB = pings(b, '1.2.0.150', 5);
    console.log(
      `first-ping: static→pooled ${fromS.received}/${fromS.sent}, pooled→static ${fromB.received}/${fromB.sent}`,
    );
    assert.equal(ipOf(resS), '1.2.0.150');
    assert.deepEqual(fromS, { sent: 5, received: 5 }, 'the static-IP pod lost no packet');
    assert.deepEqual(fromB, { sent: 5, received: 5 }, 'the pooled pod lost no packet');
    for (const call of [callA, callS, callB]) ok(c.rt.call('del', call), 'DEL');
    await c.store.podConfigs.delete({ cluster: c.name, namespace: 'pools', pod: 'ping-s' });
    for (const p of await c.neutron.ports.list({ networkId: c.network.id, tags: ['nnet-reserved'] }))
      await c.neutron.ports.ensureDeleted(p.id);
    await waitFor('no leak', async () => (await poolLeaks(c)).length === 0);
  });

  test('the agent stopped: ADD, DEL, CHECK and GC answer 11, STATUS 50, nothing changes, running pods keep passing traffic', async () => {
    const a = pod();
    const b = pod();
    const callA = { id: cid(), netns: a.path, args: podArgs('pools', 'up-a') };
    const callB = { id: cid(), netns: b.path, args: podArgs('pools', 'up-b') };
    ok(c.rt.call('add', callA), 'ADD up-a');
    const ipB = ipOf(ok(c.rt.call('add', callB), 'ADD up-b'));
    await waitFor('Neutron to name the holders', async () => (await poolLeaks(c)).length === 0);
    const snapshot = async () => ({
      ports: (await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER }))
        .map((p) => p.id)
        .sort(),
      rows: (await c.store.attachments.list({ node: c.name })).map((r) => r.containerId).sort(),
      pools: (await poolView(c)).ovsFree.sort(),
    });
    const before = await snapshot();
    await c.agent.stop();
    try {
      const d = pod();
      const msg = (r: HarnessResult) => {
        assert.equal(r.code, 2, r.stdout);
        assert.equal(r.json?.code, 11, r.stdout);
        return String(r.json?.msg);
      };
      assert.match(
        msg(c.rt.call('add', { id: cid(), netns: d.path, args: podArgs('pools', 'down') })),
        new RegExp(`nnet-agent is not running on node ${c.name} .*the runtime will retry`),
      );
      msg(c.rt.call('del', callA));
      msg(c.rt.call('check', callA));
      const gc = c.rt.direct(
        { CNI_COMMAND: 'GC' },
        JSON.stringify({ ...c.rt.plugin, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] }),
      );
      assert.equal(JSON.parse(gc.stdout).code, 11);
      const status = c.rt.direct(
        { CNI_COMMAND: 'STATUS' },
        JSON.stringify({ ...c.rt.plugin, cniVersion: '1.1.0' }),
      );
      assert.equal(JSON.parse(status.stdout).code, 50);
      assert.deepEqual(pings(a, ipB, 5), { sent: 5, received: 5 }, 'running pods keep passing traffic');
      assert.deepEqual(await snapshot(), before, 'nothing changed in Neutron, the store or OVS');
      assert.equal(d.run(['ip', 'link', 'show', 'eth0']).code, 1);
    } finally {
      await c.restartAgent();
    }
    for (const call of [callA, callB]) ok(c.rt.call('del', call), 'DEL after the agent is back');
    await waitFor('no leak', async () => (await poolLeaks(c)).length === 0);
  });

  test('the agent SIGKILLed at each step of a pooled ADD: the restarted agent, DEL and GC leave nothing', async () => {
    for (const step of ['port', 'ovs-port', 'move', 'configure', 'plug', 'record']) {
      await waitFor('a ready pool port', async () => (await poolView(c)).records[0]!.ready > 0);
      const p = pod();
      const call = { id: cid(), netns: p.path, args: podArgs('pools', `kill-${step}`) };
      const agent = await c.restartAgent({ env: { NNET_FAULT_KILL_AFTER: step } });
      const r = c.rt.call('add', call);
      assert.equal(r.json?.code, 11, `ADD with the agent killed after ${step}: ${r.stdout}`);
      assert.equal(await agent.exited, null, `killed after ${step}`);
      await c.restartAgent();
      ok(c.rt.call('del', call), `DEL after the kill at ${step}`);
      const gc = c.rt.direct(
        { CNI_COMMAND: 'GC' },
        JSON.stringify({ ...c.rt.plugin, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] }),
      );
      assert.equal(gc.code, 0, `GC after the kill at ${step}: ${gc.stdout}`);
      await waitFor(
        `no leak after the kill at ${step}`,
        async () => (await poolLeaks(c)).length === 0,
        120_000,
        () => poolLeaks(c),
      );
      assert.equal(
        p.run(['ip', '-o', 'link']).stdout.trim().split('\n').length,
        1,
        `only lo in the pod (${step})`,
      );
    }
  });

  test("a reconcile while a refill's ports are on their way lists each port once: each goes to one pod", async () => {
    // The refill pauses after its ports are made (in Neutron, bound, plugged) and before they are
    // ready; reconciles run every second meanwhile and see them as nobody's pool ports. A pool of
    // exactly 2 (earlier tests' DELs may have filled it to its max of 4) that two pods empty.
    await setPoolSettings(c, { min: 2, max: 2, batch: 2 });
    const agent = await c.restartAgent({
      env: { NNET_FAULT_DELAY_AFTER: 'pool-refill:6000' },
      args: ['--reconcile-interval', '1s'],
    });
    const calls: { id: string; netns: string; args: ReturnType<typeof podArgs> }[] = [];
    try {
      await waitFor('a full pool', async () => (await poolView(c)).records[0]?.ready === 2);
      const refills = () => agent.lines().filter((l) => l.msg === 'pool refilled').length;
      const refilled = refills();
      // Two pods empty the pool; its refill then pauses for 6 s.
      for (const name of ['race-a', 'race-b']) {
        const call = { id: cid(), netns: pod().path, args: podArgs('pools', name) };
        ok(c.rt.call('add', call), `ADD ${name}`);
        calls.push(call);
      }
      const reconciles = async () =>
        ((await agentMetric(agent, 'nnet_reconciles_total{result="ok"}')) ?? 0) +
        ((await agentMetric(agent, 'nnet_reconciles_total{result="error"}')) ?? 0);
      await waitFor(
        'the refill to finish',
        async () => refills() > refilled && (await poolView(c)).records[0]?.ready === 2,
      );
      // Settled: two whole reconciles with no refill between them (the first take may have set off
      // a refill of one port, and the second take another).
      for (let settled = false, tries = 0; !settled; tries++) {
        assert.ok(tries < 20, 'the pool kept refilling');
        const [seen, before] = [await reconciles(), refills()];
        await waitFor('two more reconciles', async () => (await reconciles()) >= seen + 2);
        settled = refills() === before;
      }
      const v = await poolView(c);
      assert.equal(v.records[0]?.ready, v.free.length, 'as many ready ports as Neutron has free pool ports');
      // Four more pods: two ready ports, then two made by ADD or a refill; each gets its own port.
      for (const name of ['race-c', 'race-d', 'race-e', 'race-f']) {
        const call = { id: cid(), netns: pod().path, args: podArgs('pools', name) };
        ok(c.rt.call('add', call), `ADD ${name}`);
        calls.push(call);
      }
      const held = (await c.store.attachments.list({ node: c.name })).map((a) => a.portId);
      assert.equal(new Set(held).size, held.length, `one port per pod: ${held.join(' ')}`);
    } finally {
      for (const call of calls) c.rt.call('del', call);
      await setPoolSettings(c, { min: 2, max: 4, batch: 2 });
      await c.restartAgent();
    }
    await waitFor(
      'no leak',
      async () => (await poolLeaks(c)).length === 0,
      120_000,
      () => poolLeaks(c),
    );
  });

  test('64 ADDs at once on one node, with Neutron busy with other work, all succeed; 64 DELs leave nothing', async () => {
    // Other load on Neutron meanwhile: ports made and deleted on a network of the test's own.
    const noise = await c.neutron.networks.create({ name: `${c.name}-noise` });
    let loading = true;
    const load = (async () => {
      let n = 0;
      while (loading) {
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            const port = await c.neutron.ports.create({ networkId: noise.id, name: `${c.name}-noise` });
            await c.neutron.ports.ensureDeleted(port.id);
            n += 1;
          }),
        ).catch(() => undefined);
      }
      return n;
    })();
    try {
      const calls = Array.from({ length: 64 }, (_, i) => ({
        id: cid(),
        netns: pod().path,
        args: podArgs('load', `p${i}`),
      }));
      const results = await Promise.all(calls.map((x) => c.rt.callAsync('add', x)));
      const failed = results.flatMap((r, i) => (r.code === 0 ? [] : [`p${i}: ${r.stdout}`]));
      loading = false;
      console.log(`parallel-adds: ${results.length - failed.length}/64 ok, noise ports made: ${await load}`);
      assert.deepEqual(failed, [], 'every ADD succeeded');
      const ips = results.map((r) => ipOf(r.json ?? {}));
      assert.equal(new Set(ips).size, 64);
      assert.equal((await c.store.attachments.list({ node: c.name })).length, 64);
      const dels = await Promise.all(calls.map((x) => c.rt.callAsync('del', x)));
      for (const [i, r] of dels.entries()) ok(r, `DEL p${i}`);
      await waitFor(
        'no leak',
        async () => (await poolLeaks(c)).length === 0,
        300_000,
        () => poolLeaks(c),
      );
    } finally {
      loading = false;
      await load;
      for (const p of await c.neutron.ports.list({ networkId: noise.id }))
        await c.neutron.ports.ensureDeleted(p.id);
      await c.neutron.networks.ensureDeleted(noise.id);
    }
  });
});

describe('a pool whose project runs out of port quota', () => {
  let c: TestCluster;
  let project: TestProject;
  const pods: TestNetns[] = [];
  before(async () => {
    const { ensureEnv } = await import('../support/env.ts');
    project = await createTestProject(ensureEnv(), `nntq-${randomBytes(3).toString('hex')}`);
    c = await startTestCluster({ prefix: 'nntq', backend: 'sqlite', project });
  });
  after(async () => {
    for (const p of pods) p.remove();
    await c?.neutron
      .call('DELETE', `/quotas/${project.id}`, { ctx: { what: 'resetting the quota' } })
      .catch(() => undefined);
    await c?.stop();
    if (c)
      for (const g of await c.neutron.securityGroups.list({ projectId: project.id }))
        await c.neutron.securityGroups.ensureDeleted(g.id).catch(() => undefined);
    await project?.remove();
  });

  test('refill stops with a clear log line and a metric; ADD makes its own port; nothing leaks', async () => {
    // The project holds the network's metadata port and the node's port: 2 more, not a batch of 4.
    const used = (await c.neutron.ports.list({ projectId: project.id })).length;
    await c.neutron.call('PUT', `/quotas/${project.id}`, {
      body: { quota: { port: used + 2 } },
      ctx: { what: "setting the test project's port quota" },
    });
    await setPoolSettings(c, { min: 4, max: 4, batch: 4 });
    await waitFor(
      'the refill to fail on the quota',
      async () => ((await agentMetric(c.agent, 'nnet_pool_refill_errors_total{reason="quota"}')) ?? 0) >= 1,
    );
    const line = c.agent.lines().find((l) => l.msg === 'pool refill stopped: port quota exceeded');
    assert.ok(line, 'the agent says why refill stopped');
    assert.match(String(line.error), /quota/i);
    await waitFor('the record to say so', async () =>
      /quota/.test((await poolView(c)).records[0]?.refillError ?? ''),
    );
    const shown = kubenetctl(c, ['get', 'pools', '-o', 'wide']);
    assert.match(shown.stdout, /stopped: Neutron refused more ports: the project's port quota is used up/);
    assert.equal((await poolView(c)).neutron.length, 0, 'no pool port was made');

    const p = createNetns('nntq');
    pods.push(p);
    const call = { id: cid(), netns: p.path, args: podArgs('quota', 'q1') };
    ok(c.rt.call('add', call), 'ADD with the pool empty: it makes its own port');
    assert.equal(await agentMetric(c.agent, 'nnet_pool_misses_total'), 1);
    ok(c.rt.call('del', call), 'DEL');
    await waitFor('no leak', async () => (await poolLeaks(c)).length === 0);
    await setPoolSettings(c, undefined);
  });
});
