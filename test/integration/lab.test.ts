/**
 * The README's main command, as a test: the two-node lab on the real environment runs the paper's
 * experiments 1 and 2, then `lab down` removes everything it made. Own prefix, dir and underlay,
 * so a lab a person is running is not touched.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { labDown, labUp, table2 } from '../../lab/lab.ts';
import { StateFile } from '../../lab/state.ts';
import { stepLog } from '../../lab/steps.ts';
import { ensureEnv } from '../support/env.ts';

const lines: string[] = [];
const opts = {
  prefix: 'nntl',
  dir: mkdtempSync(join(tmpdir(), 'nntl-')),
  underlay: '100.64.7',
  skipInstall: true,
  log: stepLog((l) => lines.push(l)),
};

after(async () => {
  await labDown(opts, { keepEnv: true });
  rmSync(opts.dir, { recursive: true, force: true });
});

test('the lab runs experiments 1 and 2 on two nodes: pod1 at 1.2.0.100 ACTIVE, all four pings pass; down leaves nothing', async () => {
  const env = ensureEnv();
  const r = await labUp(opts).catch((e) => {
    console.log(lines.join('\n'));
    throw e;
  });
  console.log(table2(r.pings).join('\n'));
  assert.equal(r.pod1.ip, '1.2.0.100');
  assert.equal(r.pod1.status, 'ACTIVE');
  assert.match(r.pod1.eth0, /1\.2\.0\.100\/16/);
  assert.deepEqual(
    r.pings.map((p) => [p.pair, p.hosts, p.subnets, p.ok]),
    [
      ['p1 → p2', 'same host', 'same subnet', true],
      ['p4 → p3', 'same host', 'different subnets', true],
      ['p1 → p4', 'different hosts', 'same subnet', true],
      ['p1 → p3', 'different hosts', 'different subnets', true],
    ],
  );

  const state = new StateFile(opts.dir).state;
  const made = { netns: [...state.netns], chassis: [...state.chassis], pids: state.pids.map((p) => p.pid) };
  await labDown(opts, { keepEnv: true });
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  for (const ns of made.netns)
    assert.ok(!netns.split('\n').some((l) => l.split(' ')[0] === ns), `netns ${ns} left`);
  const chassis = spawnSync(
    'ovn-sbctl',
    [`--db=${env.ovnSb}`, '--bare', '--columns=name', 'list', 'Chassis'],
    { encoding: 'utf8' },
  ).stdout;
  for (const c of made.chassis) assert.ok(!chassis.split('\n').includes(c), `chassis ${c} left`);
  for (const pid of made.pids) {
    // A zombie is gone: it only waits for PID 1 to reap it.
    let alive = true;
    try {
      alive = readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
    } catch {
      alive = false;
    }
    assert.ok(!alive, `process ${pid} left`);
  }
});
