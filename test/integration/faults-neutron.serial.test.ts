/**
 * Neutron down for real: the env's neutron-server (and its workers) stopped by its recorded PID,
 * then started again with scripts/env/openstack-up.sh. Every other test needs Neutron, so this
 * file is serial: scripts/test.sh runs *.serial.test.ts alone, after all the others.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { listPorts } from '../../src/plug/index.ts';
import { DEVICE_OWNER } from '../../src/resources/index.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import type { HarnessResult } from '../support/cni.ts';
import { PROJECT_ROOT, type TestEnv } from '../support/env.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

const cid = () => randomBytes(16).toString('hex');
const podArgs = (ns: string, pod: string) => ({ K8S_POD_NAMESPACE: ns, K8S_POD_NAME: pod });

function ok(r: HarnessResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed: ${r.stdout} ${r.stderr}`);
}

function failed(r: HarnessResult, code: number, what: string): string {
  assert.equal(r.code, 2, `${what}: expected a plugin error, got ${r.code}: ${r.stdout} ${r.stderr}`);
  assert.equal(r.json?.code, code, `${what}: ${r.stdout}`);
  return String(r.json?.msg);
}

// ---- neutron-server, stopped and started as scripts/env/openstack-{down,up}.sh do.

const pidFile = (env: TestEnv) => join(env.dir, 'openstack/neutron/neutron-server.pid');

function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {}
  }
  return out;
}

async function waitGone(pids: number[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (pids.some(alive) && Date.now() < end) await sleep(100);
}

/** Stops the env's neutron-server and its workers (only if the PID is really the env's). */
async function stopNeutron(env: TestEnv): Promise<void> {
  const pid = Number(readFileSync(pidFile(env), 'utf8').trim());
  const cmd = cmdline(pid);
  assert.ok(
    alive(pid) && cmd.includes('neutron-server') && cmd.includes(env.dir),
    `pid ${pid} is not the env's neutron-server`,
  );
  const kids = childrenOf(pid).filter((k) => cmdline(k).includes(env.dir));
  process.kill(pid, 'SIGTERM');
  await waitGone([pid], 20_000);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  await waitGone(kids, 3_000);
  for (const k of kids.filter(alive)) process.kill(k, 'SIGKILL');
  await waitGone([pid, ...kids], 5_000);
  assert.ok(![pid, ...kids].some(alive), 'neutron-server is still running');
}

async function startNeutron(): Promise<void> {
  await promisify(execFile)('bash', [join(PROJECT_ROOT, 'scripts/env/openstack-up.sh')], {
    env: { ...process.env, NNET_SKIP_INSTALL: '1' },
    timeout: 180_000,
  });
}

async function neutronUp(env: TestEnv): Promise<boolean> {
  try {
    const pid = Number(readFileSync(pidFile(env), 'utf8').trim());
    return alive(pid) && (await fetch(env.neutronUrl)).status < 500;
  } catch {
    return false;
  }
}

describe('Neutron stopped for real (serial)', () => {
  let c: TestCluster;
  const pods: TestNetns[] = [];
  const summary = { faults: 0, survived: 0, leaks: 0, outageS: 0 };
  before(async () => {
    c = await startTestCluster({ prefix: 'nnta', backend: 'sqlite' });
  });
  after(async () => {
    // Whatever happened, Neutron runs again before anything else does.
    if (c && !(await neutronUp(c.env))) await startNeutron();
    for (const p of pods) p.remove();
    await c?.stop();
    console.log(
      `reliability(neutron-down): faults=${summary.faults} survived=${summary.survived} leaks=${summary.leaks} outage=${summary.outageS}s`,
    );
  });

  test('ADD and DEL while neutron-server is down fail with code 11 and leave nothing; both work once it is back', async () => {
    const pa = createNetns('nnta');
    const pb = createNetns('nnta');
    pods.push(pa, pb);
    const a = { id: cid(), netns: pa.path, args: podArgs('down', 'a') };
    const b = { id: cid(), netns: pb.path, args: podArgs('down', 'b') };
    ok(await c.rt.callAsync('add', a), 'ADD before the outage');

    const t0 = Date.now();
    summary.faults = 2;
    await stopNeutron(c.env);
    try {
      const addMsg = failed(await c.rt.callAsync('add', b), 11, 'ADD with Neutron down');
      assert.match(addMsg, /neutron|9696|unavailable|unreachable/i);
      failed(await c.rt.callAsync('del', a), 11, 'DEL with Neutron down');
      // Without Neutron, what is visible must already be clean: nothing of b plugged or recorded.
      const rows = await c.store.attachments.list({ node: c.name });
      assert.deepEqual(
        rows.map((r) => r.containerId),
        [a.id],
        "only a's record, kept until its port is released",
      );
      assert.equal((await listPorts(c.node.plugSettings())).length, 0, 'no OVS port (a was unplugged)');
      assert.equal(pb.run(['ip', '-br', 'link']).stdout.trim().split('\n').length, 1, 'pod b holds only lo');
    } finally {
      await startNeutron();
      summary.outageS = Math.round((Date.now() - t0) / 100) / 10;
    }
    ok(await c.rt.callAsync('del', a), 'DEL after recovery');
    ok(await c.rt.callAsync('del', b), 'DEL of the failed ADD after recovery');
    const leftNeutron = await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER });
    const leftRows = await c.store.attachments.list({ node: c.name });
    summary.leaks = leftNeutron.length + leftRows.length;
    assert.equal(summary.leaks, 0, 'nothing left in Neutron or the store');
    ok(await c.rt.callAsync('add', b), 'ADD after recovery');
    ok(await c.rt.callAsync('del', b), 'DEL');
    assert.deepEqual(await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER }), []);
    summary.survived = 2;
  });
});
