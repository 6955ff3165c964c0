/**
 * nnet-agent, the built binary, on a real node (own ovsdb-server, ovs-vswitchd and ovn-controller
 * joined to the env's OVN), with pods plugged by the real plugin through libcni on the real
 * Keystone/Neutron: re-plug after an ovs-vswitchd restart, reconcile, metrics, graceful SIGTERM.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { listPorts } from '../../src/plug/index.ts';
import { DEVICE_OWNER } from '../../src/resources/index.ts';
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

interface RunningAgent {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  metricsUrl: string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Starts dist/nnet-agent.js on the cluster's CNI config; its JSON log lines are collected. */
async function startAgent(c: TestCluster, extra: string[]): Promise<RunningAgent> {
  const child = spawn(
    process.execPath,
    [
      AGENT,
      '--cni-config',
      join(c.rt.confDir, '10-nnet.conflist'),
      '--metrics-listen',
      '127.0.0.1:0',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    for (const p of parts) {
      if (!p.trim()) continue;
      try {
        lines.push(JSON.parse(p));
      } catch {
        lines.push({ msg: '(not JSON)', raw: p });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const agent: RunningAgent = {
    child,
    lines,
    metricsUrl: '',
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  try {
    await waitFor('the agent to serve metrics and watch OVSDB', () => {
      if (child.exitCode !== null)
        throw new Error(`agent exited ${child.exitCode}: ${JSON.stringify(lines)}`);
      return lines.some((l) => l.msg === 'watching OVSDB') && lines.some((l) => l.msg === 'serving metrics');
    });
  } catch (e) {
    await agent.stop();
    throw e;
  }
  agent.metricsUrl = String(lines.find((l) => l.msg === 'serving metrics')!.url);
  return agent;
}

async function scrape(a: RunningAgent): Promise<string> {
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

  test('after ovs-vswitchd restarts, the agent re-plugs four pinging pods within 10 s with no CNI call and no pod restart; SIGTERM stops it cleanly', async () => {
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

    const agent = await startAgent(c, ['--reconcile-interval', '2s', '--grace', '1h']);
    try {
      ok(c.rt.call('check', calls[0]), 'CHECK');
      const netnsIds = pods.map((p) => statSync(p.path).ino);
      const eth0Before = pods.map((p) => JSON.parse(p.exec(['ip', '-j', 'link', 'show', 'eth0']))[0].ifindex);
      const opsBefore = cniOps(c);

      const t0 = Date.now();
      await c.node.restartVswitchd();
      // The pods' NICs are dead copies now (NO-CARRIER); only the agent can bring them back.
      await waitFor('all four pods to pass traffic again', allPing, 15_000);
      summary.recoveryMs = Date.now() - t0;
      assert.ok(summary.recoveryMs <= 10_000, `recovery took ${summary.recoveryMs} ms`);

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
      const replugged = agent.lines.filter((l) => l.msg === 're-plugged pod NIC');
      assert.equal(replugged.length, 4, JSON.stringify(replugged));

      const text = await scrape(agent);
      summary.replugs = sample(text, 'nnet_replugs_total') ?? -1;
      assert.equal(summary.replugs, 4);
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
      assert.equal(sample(await scrape(agent), 'nnet_attachments'), 3);
    } finally {
      const code = await agent.stop();
      assert.equal(code, 0, 'SIGTERM ends the agent with exit code 0');
      assert.ok(agent.lines.some((l) => l.msg === 'stopped'));
      for (const call of calls) c.rt.call('del', call);
    }
    assert.deepEqual(await leftovers(c), { neutron: [], ovs: [], rows: [] });
  });

  test('--once releases what killed ADDs and vanished pods left (OVS port, Neutron port bound to the node, record) and exits 0', async () => {
    const gone = createNetns('nnta');
    pods.push(gone);
    ok(c.rt.call('add', { id: cid(), netns: gone.path, args: podArgs('once', 'gone') }), 'ADD gone');
    gone.remove();
    const killed: TestNetns[] = [];
    for (const step of ['port', 'plug']) {
      const p = createNetns('nnta');
      pods.push(p);
      killed.push(p);
      process.env.NNET_FAULT_KILL_AFTER = step;
      try {
        const r = c.rt.call('add', { id: cid(), netns: p.path, args: podArgs('once', `killed-${step}`) });
        assert.notEqual(r.code, 0, `the ADD killed after ${step} did not fail`);
      } finally {
        delete process.env.NNET_FAULT_KILL_AFTER;
      }
    }
    const before = await leftovers(c);
    assert.equal(before.rows.length, 1, 'the vanished pod is recorded');
    assert.equal(before.neutron.length, 3, 'three Neutron ports are bound');
    assert.equal(before.ovs.length, 2, 'the vanished pod and the ADD killed after plug have OVS ports');

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
    for (const p of killed)
      assert.equal(p.run(['ip', '-br', 'link']).stdout.trim().split('\n').length, 1, 'only lo is left');
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
