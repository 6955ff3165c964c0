/**
 * The README's main command, as a test: the two-node lab on the real environment runs the paper's
 * experiments 1 and 2 (IPv4 and IPv6) and 3 (Kubernetes networking) in podman containers,
 * survives an ovs-vswitchd restart through nnet-agent;
 * then a port the lab did not make is put on a lab network: `lab down` names it and exits 1, the
 * next `lab up` refuses naming it, and once it is deleted `lab down` removes everything. Own
 * prefix, dir and underlay, so a lab a person is running is not touched.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { table4 } from '../../lab/isolation.ts';
import { table3 } from '../../lab/k8s.ts';
import { LabLeftoversError, labDown, labUp, table2 } from '../../lab/lab.ts';
import { adminNeutron } from '../../lab/neutron.ts';
import { StateFile } from '../../lab/state.ts';
import { stepLog } from '../../lab/steps.ts';
import { ensureEnv, PROJECT_ROOT } from '../support/env.ts';

const lines: string[] = [];
const opts = {
  prefix: 'nntl',
  dir: mkdtempSync(join(tmpdir(), 'nntl-')),
  underlay: '100.64.7',
  skipInstall: true,
  log: stepLog((l) => lines.push(l)),
};
const tokens = mkdtempSync(join(tmpdir(), 'nntl-tokens-'));
const foreign: string[] = [];
let made: { netns: string[]; chassis: string[]; pids: number[] } | undefined;

after(async () => {
  const env = ensureEnv();
  const neutron = adminNeutron(env.cloudsYaml, env.cloud, tokens);
  for (const id of foreign) await neutron.ports.ensureDeleted(id).catch(() => undefined);
  await labDown(opts, { keepEnv: true });
  rmSync(opts.dir, { recursive: true, force: true });
  rmSync(tokens, { recursive: true, force: true });
});

/** `npm run lab -- down` for this test's lab: the CLI, with its exit code. */
function labDownCli() {
  return spawnSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'lab/main.ts'), 'down'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      NNET_LAB_PREFIX: opts.prefix,
      NNET_LAB_DIR: opts.dir,
      NNET_LAB_UNDERLAY: opts.underlay,
    },
    timeout: 600_000,
  });
}

const alive = (pid: number) => {
  // A zombie is gone: it only waits for PID 1 to reap it.
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
  } catch {
    return false;
  }
};

/** PIDs of processes whose command line names the lab's dir (conmon, containers' helpers, daemons). */
function processesMentioning(dir: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('the lab runs experiments 1 and 2 in podman containers on two nodes, and nnet-agent recovers pods after an ovs-vswitchd restart', async () => {
  ensureEnv(); // up before the lab looks: the lab then neither starts nor stops it
  const r = await labUp(opts).catch((e) => {
    console.log(lines.join('\n'));
    throw e;
  });
  console.log(table2(r.pings).join('\n'));
  assert.equal(r.pod1.ip, '1.2.0.100');
  assert.equal(r.pod1.container, 'nntl-pod1');
  assert.equal(r.pod1.status, 'ACTIVE');
  assert.match(r.pod1.eth0, /1\.2\.0\.100\/16/);
  assert.deepEqual(
    r.pings.map((p) => [p.pair, p.family, p.hosts, p.subnets, p.ok]),
    (['IPv4', 'IPv6'] as const).flatMap((family) => [
      ['p1 → p2', family, 'same host', 'same subnet', true],
      ['p4 → p3', family, 'same host', 'different subnets', true],
      ['p1 → p4', family, 'different hosts', 'same subnet', true],
      ['p1 → p3', family, 'different hosts', 'different subnets', true],
    ]),
  );
  console.log(table3(r.k8s.before).join('\n'));
  console.log(table3(r.k8s.after).join('\n'));
  assert.deepEqual(
    [...r.k8s.before, ...r.k8s.after].filter((x) => x.result !== 'PASS'),
    [],
    'every row of experiment 3 passes, before and after the restart',
  );
  assert.equal(r.k8s.before.length, 7);
  const iso = table4(r.isolation);
  console.log([...iso.flows, ...r.isolation.shown, ...iso.nics].join('\n'));
  assert.deepEqual(
    [...r.isolation.before, ...r.isolation.after].map((f) => [f.flow, f.groups, f.expect, f.result]),
    [
      ['pod → TCP 8080', 'nntl-only-8080', 'allowed', 'PASS'],
      ['pod → TCP 9090', 'nntl-only-8080', 'denied', 'PASS'],
      ['pod → ICMP', 'nntl-only-8080', 'denied', 'PASS'],
      ["node's probe → TCP 9090 (node-access group)", 'nntl-only-8080', 'allowed', 'PASS'],
      ['pod → TCP 8080', 'nntl-9090-icmp', 'denied', 'PASS'],
      ['pod → TCP 9090', 'nntl-9090-icmp', 'allowed', 'PASS'],
      ['pod → ICMP', 'nntl-9090-icmp', 'allowed', 'PASS'],
      ["node's probe → TCP 9090 (node-access group)", 'nntl-9090-icmp', 'allowed', 'PASS'],
    ],
    'experiment 4: the guarded pod admits what its group says, before and after set podnetwork',
  );
  console.log(`lab: the new group took effect after ${r.isolation.flippedAfterMs} ms`);
  assert.notEqual(r.isolation.flippedAfterMs, undefined, 'the new group took effect on the running pod');
  assert.equal(r.isolation.eth0Ifindex[0], r.isolation.eth0Ifindex[1], 'no re-plug: the same eth0');
  assert.deepEqual(
    r.isolation.nics.filter((n) => n.result !== 'PASS'),
    [],
    "experiment 4: the two-NIC pod's pings on both networks, its default route via eth0",
  );
  assert.equal(r.isolation.nics.length, 6);
  assert.notEqual(r.k8s.restart.recoveryMs, undefined);
  console.log(
    `lab vswitchd restart: recovery ${r.restart.recoveryMs} ms, lost ${r.restart.lost}/${r.restart.sent}`,
  );
  assert.notEqual(r.restart.recoveryMs, undefined, 'a pod pinged again after the restart');
  assert.ok(
    (r.restart.replugs.after ?? 0) >= (r.restart.replugs.before ?? 0) + 2,
    'the agent re-plugged both node-1 pods',
  );
  // A container without a reservation took a ready port of node 1's pool.
  assert.match(r.pool.eth0, /^1\.2\.\d+\.\d+\/16$/);
  assert.match(r.pool.table, /^NODE +NETWORK +READY +IN-USE +TARGET +AGE$/m);
  assert.match(r.pool.table, /^nntl-node1 +nntl-net1 +\d+ +1 +2 /m);
  assert.match(r.pool.table, /^nntl-node2 +nntl-net1 +\d+ +0 +2 /m);
  assert.equal(r.agents.length, 2);
  for (const a of r.agents) assert.match(a.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

  const state = new StateFile(opts.dir).state;
  assert.deepEqual(state.containers.map((x) => x.name).sort(), [
    'nntl-dns',
    'nntl-guarded',
    'nntl-p2',
    'nntl-p3',
    'nntl-p4',
    'nntl-p5',
    'nntl-pod1',
    'nntl-twonic',
    'nntl-web1',
    'nntl-web2',
  ]);
  made = { netns: [...state.netns], chassis: [...state.chassis], pids: state.pids.map((p) => p.pid) };
});

test('a port the lab did not make on a lab network: down names it and exits 1, up refuses, and after it is deleted down leaves nothing', async (t) => {
  if (!made) return t.skip('the lab did not come up');
  const env = ensureEnv();
  const neutron = adminNeutron(env.cloudsYaml, env.cloud, tokens);
  const [net1] = await neutron.networks.list({ name: 'nntl-net1' });
  assert.ok(net1);
  const vm = await neutron.ports.create({ networkId: net1.id, name: 'nntl-vm1' });
  foreign.push(vm.id);

  const down = labDownCli();
  assert.equal(down.status, 1, `lab down: ${down.stdout}${down.stderr}`);
  assert.match(down.stdout, /NOT everything could be removed/);
  assert.match(down.stdout, new RegExp(`network nntl-net1 \\(${net1.id}\\) and subnet nntl-sub1`));
  assert.ok(down.stdout.includes(`port nntl-vm1 (${vm.id})`), down.stdout);
  assert.match(down.stdout, new RegExp(`fix: .*openstack --os-cloud ${env.cloud} port delete ${vm.id}`));
  assert.ok(!down.stdout.includes('lab removed'));
  assert.deepEqual(await neutron.networks.list({ name: 'nntl-net2' }), [], 'the rest went');

  await assert.rejects(labUp(opts), (e: unknown) => {
    assert.ok(e instanceof LabLeftoversError, String(e));
    assert.match(e.message, /^lab up: refusing to start/);
    assert.ok(e.message.includes(`port delete ${vm.id}`));
    return true;
  });
  assert.equal(
    spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.includes('nntl-node1'),
    false,
    'the refused up started nothing',
  );

  await neutron.ports.ensureDeleted(vm.id);
  const down2 = labDownCli();
  assert.equal(down2.status, 0, `lab down: ${down2.stdout}${down2.stderr}`);
  assert.match(down2.stdout, /lab removed/);

  const tags = [`nnet-cluster=nntl-cluster`];
  assert.deepEqual(
    [
      ...(await neutron.networks.list({ tags })),
      ...(await neutron.subnets.list({ tags })),
      ...(await neutron.routers.list({ tags })),
      ...(await neutron.ports.list({ tags })),
      ...(await neutron.securityGroups.list({ tags })),
      ...(await neutron.securityGroups.list({ tags: ['nnet-lab=nntl-cluster'] })),
    ].map((x) => x.name),
    [],
    'no Neutron resource of the lab',
  );
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  for (const ns of made.netns)
    assert.ok(!netns.split('\n').some((l) => l.split(' ')[0] === ns), `netns ${ns} left`);
  const chassis = spawnSync(
    'ovn-sbctl',
    [`--db=${env.ovnSb}`, '--bare', '--columns=name', 'list', 'Chassis'],
    {
      encoding: 'utf8',
    },
  ).stdout;
  for (const c of made.chassis) assert.ok(!chassis.split('\n').includes(c), `chassis ${c} left`);
  for (const pid of made.pids) assert.ok(!alive(pid), `process ${pid} left`);
  assert.deepEqual(
    processesMentioning(opts.dir).filter(alive),
    [],
    'no process (conmon, container) of the lab',
  );
});
