/**
 * The plugin on a 3-member etcd cluster as production runs it (TLS with client certificates,
 * a user whose role is limited to the cluster's prefix), through libcni against the real
 * Neutron/OVN/OVS: a churn of 100 pods (ADD then DEL, 4 at a time) during which the etcd leader
 * is SIGKILLed by its PID. A failed call is retried as a runtime would (the kubelet retries a
 * failed sandbox) and every retry is counted. Afterwards: no failed ADD, every ADD's record was
 * in the store, nothing left in Neutron, OVS or the store.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listPorts } from '../../src/plug/index.ts';
import { DEVICE_OWNER } from '../../src/resources/index.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import type { HarnessCall, HarnessResult } from '../support/cni.ts';
import { startEtcd, type TestEtcd } from '../support/etcd.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';
import { makePki } from '../support/pki.ts';

const PODS = 100;
const CONCURRENCY = 4;
/** The kill happens once this many ADDs have succeeded. */
const KILL_AFTER = 30;
/** Attempts per call, as a runtime would make them (the first one included). */
const ATTEMPTS = 4;

const tag = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), `nntm-${tag}-`));
const prefix = `/nntm-${tag}`;

const figures = {
  pods: 0,
  adds: 0,
  failedAdds: 0,
  addRetries: 0,
  dels: 0,
  failedDels: 0,
  delRetries: 0,
  recordsSeen: 0,
  killed: '',
  addsAfterKill: 0,
  leaks: -1,
};
after(() => console.log(`reliability(etcd-member-kill): ${JSON.stringify(figures)}`));

function leaderOf(etcd: TestEtcd): number {
  // etcdctl endpoint status -w simple: "url, id, version, db size, is leader, …"
  const lines = etcd.etcdctl(['endpoint', 'status', '-w', 'simple', '--cluster=false']).trim().split('\n');
  const leader = lines.find((l) => l.split(', ')[4] === 'true');
  assert.ok(leader, `no leader in ${lines.join(' | ')}`);
  return etcd.members.findIndex((m) => m.clientUrl === leader.split(', ')[0]);
}

describe('a 3-member etcd cluster with TLS and auth loses its leader during a 100-pod churn', () => {
  let etcd: TestEtcd;
  let c: TestCluster;
  const pods = new Set<TestNetns>();

  before(async () => {
    const pki = makePki(join(dir, 'pki'));
    etcd = await startEtcd({ name: `nntm-${tag}`, dir, members: 3, pki, clientCertAuth: true });
    const auth = etcd.enableAuth({ prefix, user: 'nnet' });
    c = await startTestCluster({
      prefix: 'nntm',
      backend: 'etcd',
      storeUrl: etcd.storeUrl(prefix, auth),
      cidr: '10.77.0.0/16',
    });
  });
  after(async () => {
    for (const p of pods) p.remove();
    await c?.stop();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function callWithRetries(verb: 'add' | 'del', call: HarnessCall): Promise<HarnessResult> {
    let r: HarnessResult | undefined;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      r = await c.rt.callAsync(verb, call);
      if (r.code === 0) return r;
      if (attempt < ATTEMPTS) {
        if (verb === 'add') figures.addRetries += 1;
        else figures.delRetries += 1;
        console.log(`retrying ${verb} of ${call.id} (attempt ${attempt} failed: ${r.stdout.trim()})`);
      }
    }
    return r!;
  }

  test('0 failed ADDs, every record written, and nothing left in Neutron, OVS or the store', async () => {
    let next = 0;
    let killing: Promise<void> | undefined;
    const failures: string[] = [];
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= PODS) return;
        const p = createNetns('nntm');
        pods.add(p);
        const call = {
          id: randomBytes(16).toString('hex'),
          netns: p.path,
          args: { K8S_POD_NAMESPACE: 'churn', K8S_POD_NAME: `p${i}` },
        };
        figures.pods += 1;
        const add = await callWithRetries('add', call);
        if (add.code !== 0) {
          figures.failedAdds += 1;
          failures.push(`ADD p${i}: ${add.stdout} ${add.stderr}`);
        } else {
          figures.adds += 1;
          if (killing) figures.addsAfterKill += 1;
          const row = await c.store.attachments.get({ containerId: call.id, ifname: 'eth0' });
          if (row?.pod === `p${i}`) figures.recordsSeen += 1;
          else failures.push(`ADD p${i} succeeded but its record is ${JSON.stringify(row)}`);
        }
        if (figures.adds === KILL_AFTER && !killing) {
          const victim = etcd.members[leaderOf(etcd)]!;
          figures.killed = `${victim.name} (the leader, pid ${victim.pid})`;
          console.log(`killing etcd ${figures.killed} after ${figures.adds} ADDs`);
          killing = victim.kill();
        }
        const del = await callWithRetries('del', call);
        if (del.code !== 0) {
          figures.failedDels += 1;
          failures.push(`DEL p${i}: ${del.stdout} ${del.stderr}`);
        } else figures.dels += 1;
        p.remove();
        pods.delete(p);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await killing;
    assert.ok(figures.killed, 'a member was killed during the churn');
    assert.ok(!etcd.members.every((m) => m.alive()), 'one member is down');
    assert.ok(figures.addsAfterKill > 0, 'ADDs ran after the kill');

    const ports = await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER });
    const ovs = await listPorts(c.node.plugSettings());
    const rows = await c.store.attachments.list({ node: c.name });
    figures.leaks = ports.length + ovs.length + rows.length;
    assert.deepEqual(failures, []);
    assert.equal(figures.failedAdds, 0);
    assert.equal(figures.recordsSeen, PODS, 'every ADD recorded its attachment');
    assert.deepEqual(
      { neutron: ports.map((p) => p.id), ovs: ovs.map((p) => p.name), rows: rows.map((r) => r.containerId) },
      { neutron: [], ovs: [], rows: [] },
      'leaks',
    );
  });
});
