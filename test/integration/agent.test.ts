/**
 * nnet-agent, the built binary, on a real node (own ovsdb-server, ovs-vswitchd and ovn-controller
 * joined to the env's OVN), with pods plugged through it by the thin plugin and libcni on the real
 * Keystone/Neutron: re-plug after an ovs-vswitchd restart, reconcile, metrics, graceful SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { listPorts } from '../../src/plug/index.ts';
import { DEVICE_OWNER } from '../../src/resources/index.ts';
import type { TestAgent } from '../support/agent.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { type HarnessCall, type HarnessResult, logLines } from '../support/cni.ts';
import { PROJECT_ROOT } from '../support/env.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

const AGENT = join(PROJECT_ROOT, 'dist/nnet-agent.js');
const cid = () => randomBytes(16).toString('hex');
const podArgs = (ns: string, pod: string) => ({ K8S_POD_NAMESPACE: ns, K8S_POD_NAME: pod });

function ok(r: HarnessResult, what: string): Record<string, unknown> {
  assert.equal(r.code, 0, `${what} failed: ${r.stdout} ${r.stderr}`);
  return r.json ?? {};
}

function pings(from: TestNetns, ip: string): boolean {
  return from.run(['ping', '-c', '1', '-W', '1', ip], { timeoutMs: 5000 }).code === 0;
}

async function waitFor(what: string, fn: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (
      await Promise.resolve()
        .then(fn)
        .catch(() => false)
    )
      return;
    await sleep(200);
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

async function scrape(a: TestAgent): Promise<string> {
  const res = await fetch(a.metricsUrl);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Pod attachments' leftovers: N-Net's Neutron ports on the test network, OVS ports, store rows. */
async function leftovers(c: TestCluster) {
  const ports = await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER });
  return {
    neutron: ports.map((p) => p.id),
    ovs: (await listPorts(c.node.plugSettings())).map((p) => p.name),
    rows: (await c.store.attachments.list({ node: c.name })).map((r) => r.containerId),
  };
}

const cniOps = (c: TestCluster) => logLines(c.rt).filter((l) => typeof l.durationMs === 'number').length;

describe('nnet-agent on a node', () => {
  let c: TestCluster;
  const pods: TestNetns[] = [];
  const summary = { recoveryMs: -1, replugs: 0, released: 0 };
  before(async () => {
    c = await startTestCluster({ prefix: 'nnta', backend: 'sqlite', faulty: true });
  });
  after(async () => {
    for (const p of pods) p.remove();
    await c?.stop();
    console.log(
      `reliability(agent): vswitchd-restart recovery=${summary.recoveryMs}ms replugs=${summary.replugs} reconcile-released=${summary.released}`,
    );
  });

  test('after ovs-vswitchd restarts, the agent re-plugs four pinging pods with no CNI call and no pod restart; SIGTERM stops it cleanly', async () => {
    const calls: HarnessCall[] = [];
    for (let i = 0; i < 4; i++) {
      const p = createNetns('nnta');
      pods.push(p);
      calls.push({ id: cid(), netns: p.path, args: podArgs('restart', `p${i}`) });
    }
    const results = await Promise.all(calls.map((call) => c.rt.callAsync('add', call)));
    const ips = results.map(
      (r, i) => (ok(r, `ADD p${i}`).ips as { address: string }[])[0]!.address.split('/')[0]!,
    );
    const pairs = [
      [0, 1],
      [1, 0],
      [2, 3],
      [3, 2],
    ] as const;
    const allPing = () => pairs.every(([from, to]) => pings(pods[from]!, ips[to]!));
    await waitFor('the two pairs to ping each other', allPing);

    const agent = await c.restartAgent({ args: ['--reconcile-interval', '2s', '--grace', '1h'] });
    await waitFor('the agent to watch OVSDB', () => agent.lines().some((l) => l.msg === 'watching OVSDB'));
    try {
      ok(c.rt.call('check', calls[0]), 'CHECK');
      const netnsIds = pods.map((p) => statSync(p.path).ino);
      const eth0Before = pods.map((p) => JSON.parse(p.exec(['ip', '-j', 'link', 'show', 'eth0']))[0].ifindex);
      const opsBefore = cniOps(c);

      const t0 = Date.now();
      await c.node.restartVswitchd();
      // The pods' NICs are dead copies now (NO-CARRIER); only the agent can bring them back.
      // A generous bound: how fast it recovers is the benchmark's (and the summary line's) to say.
      await waitFor('all four pods to pass traffic again', allPing, 60_000);
      summary.recoveryMs = Date.now() - t0;

      assert.equal(cniOps(c), opsBefore, 'no CNI call was made');
      assert.deepEqual(
        pods.map((p) => statSync(p.path).ino),
        netnsIds,
        'the pods kept their network namespaces',
      );
      const eth0After = pods.map((p) => JSON.parse(p.exec(['ip', '-j', 'link', 'show', 'eth0']))[0]);
      for (const [i, l] of eth0After.entries()) {
        assert.notEqual(l.ifindex, eth0Before[i], `pod ${i}'s eth0 is the new device`);
        assert.ok(l.flags.includes('LOWER_UP'), `pod ${i}'s eth0 has carrier`);
      }
      const replugged = agent.lines().filter((l) => l.msg === 're-plugged pod NIC');
      assert.equal(replugged.length, 4, JSON.stringify(replugged));

      const text = await scrape(agent);
      summary.replugs = sample(text, 'nnet_replugs_total') ?? -1;
      // The counter also counts the node's own port when its restore changed something (its tap
      // stays in the node's netns, so usually nothing needs doing): the four pods, and that.
      const nodePortReplugs = agent.lines().filter((l) => l.msg === 're-plugged the node port').length;
      assert.equal(summary.replugs, 4 + nodePortReplugs);
      assert.equal(sample(text, 'nnet_errors_total{operation="replug"}'), 0);
      assert.equal(sample(text, 'nnet_attachments'), 4);
      assert.equal(
        sample(text, 'nnet_cni_operation_duration_seconds_count{command="CHECK",result="ok"}'),
        1,
        'the CHECK made after the agent started is in the latency histogram',
      );
      assert.ok(
        (sample(text, 'nnet_cni_operation_duration_seconds_bucket{command="CHECK",le="+Inf",result="ok"}') ??
          0) === 1,
      );

      // A pod that went away without DEL: the next reconcile releases its attachment and port.
      pods[3]!.remove();
      await waitFor(
        'the reconcile to release the vanished pod',
        async () =>
          sample(await scrape(agent), 'nnet_reconcile_actions_total{kind="attachment_released"}') === 1,
        15_000,
      );
      summary.released = 1;
      const l = await leftovers(c);
      assert.equal(l.rows.length, 3);
      assert.equal(l.neutron.length, 3);
      const after = await scrape(agent);
      assert.equal(sample(after, 'nnet_attachments'), 3);
      // Every reconcile run is timed: as many durations as reconciles, and they took some time.
      const reconciles =
        (sample(after, 'nnet_reconciles_total{result="ok"}') ?? 0) +
        (sample(after, 'nnet_reconciles_total{result="error"}') ?? 0);
      assert.ok(reconciles >= 2, `the start-up reconcile and the one that released the pod: ${reconciles}`);
      assert.equal(sample(after, 'nnet_reconcile_duration_seconds_count'), reconciles);
      assert.ok((sample(after, 'nnet_reconcile_duration_seconds_sum') ?? 0) > 0);
    } finally {
      const code = await agent.stop();
      assert.equal(code, 0, 'SIGTERM ends the agent with exit code 0');
      assert.ok(agent.lines().some((l) => l.msg === 'stopped'));
      await c.restartAgent();
      for (const call of calls) c.rt.call('del', call);
    }
    assert.deepEqual(await leftovers(c), { neutron: [], ovs: [], rows: [] });
  });

  test('--once releases what killed ADDs and vanished pods left (OVS port, Neutron port bound to the node, record) and exits 0', async () => {
    const gone = createNetns('nnta');
    pods.push(gone);
    ok(c.rt.call('add', { id: cid(), netns: gone.path, args: podArgs('once', 'gone') }), 'ADD gone');
    // An ADD the agent serving it died in (SIGKILL after the plug, before the record).
    const killed = createNetns('nnta');
    pods.push(killed);
    await c.restartAgent({ env: { NNET_FAULT_KILL_AFTER: 'plug' } });
    const r0 = c.rt.call('add', { id: cid(), netns: killed.path, args: podArgs('once', 'killed-plug') });
    assert.notEqual(r0.code, 0, 'the ADD whose agent was killed after plug did not fail');
    await c.agent.exited;
    // Gone while no agent runs (a running one's reconcile would release it at once).
    gone.remove();
    const before = await leftovers(c);
    assert.equal(before.rows.length, 1, 'the vanished pod is recorded');
    assert.equal(before.neutron.length, 2, 'two Neutron ports are bound');
    assert.equal(before.ovs.length, 2, 'the vanished pod and the killed ADD have OVS ports');

    const r = spawnSync(
      process.execPath,
      [AGENT, '--cni-config', join(c.rt.confDir, '10-nnet.conflist'), '--once', '--grace', '0'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    const lines = r.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const done = lines.find((l) => l.msg === 'once: done');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(done.attachmentsReleased.length, 1);
    assert.equal(done.errors.length, 0);
    assert.deepEqual(await leftovers(c), { neutron: [], ovs: [], rows: [] });
    assert.equal(killed.run(['ip', '-br', 'link']).stdout.trim().split('\n').length, 1, 'only lo is left');
    await c.restartAgent();
    assert.ok(!readFileSync(c.rt.logFile, 'utf8').includes(c.env.osEnv.OS_PASSWORD!));
  });

  test('a bad flag or config exits 2 with a message naming it', () => {
    const bad = spawnSync(process.execPath, [AGENT, '--grace', 'soon'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--grace: "soon" is not a duration/);
    const missing = spawnSync(
      process.execPath,
      [AGENT, '--cni-config', '/nonexistent/nnta.conflist', '--once'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read CNI config \/nonexistent\/nnta\.conflist/);
  });
});
