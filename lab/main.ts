/**
 * `npm run lab [up|down|status]`: the two-node N-Net lab on real OpenStack, the paper's experiments
 * 1 and 2 (IPv4 and IPv6) with real containers, an ovs-vswitchd restart, experiment 3
 * (Kubernetes networking: lab/k8s.ts) and experiment 4 (pod isolation and two NICs: lab/isolation.ts). Everything it makes is recorded under
 * .lab/lab; `down` removes it, and exits 1 naming whatever it could not remove.
 * NNET_LAB_PREFIX / NNET_LAB_DIR / NNET_LAB_UNDERLAY run a second lab beside the default one.
 * scripts/lab.sh passes NNET_LAB_T0_MS (when it started) and NNET_LAB_DEPS_MS (its installs).
 */

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isolationOk, isolationPassed, table4 } from './isolation.ts';
import { k8sOk, table3 } from './k8s.ts';
import {
  formatLeftovers,
  LabLeftoversError,
  labDown,
  labOptionsFromEnv,
  labStatus,
  labUp,
  restartLines,
  table2,
} from './lab.ts';
import { nestedLabOptions, nestedOk, nestedTables, nestedUp } from './nested.ts';
import { stepLog, timeSummary } from './steps.ts';

const cmd = process.argv[2] ?? 'up';
const t0 = Number(process.env.NNET_LAB_T0_MS) || Date.now();
const depsMs = process.env.NNET_LAB_DEPS_MS ? Number(process.env.NNET_LAB_DEPS_MS) : undefined;

async function up(): Promise<number> {
  const log = stepLog(undefined, t0);
  const opts = { ...labOptionsFromEnv(process.env), log, ...(depsMs !== undefined ? { depsMs } : {}) };
  if (depsMs === undefined)
    console.log(
      "N-Net lab: two nodes on real Keystone + Neutron (ML2/OVN), the paper's experiments 1 and 2, experiment 3 (Kubernetes networking) and experiment 4 (pod isolation, two NICs) in podman containers\n",
    );
  const r = await labUp(opts);
  console.log('\n== Experiment 1: a pod with a chosen subnet and static IP');
  console.log(
    `${r.pod1.container} (a podman container) on ${r.pod1.node}: IP ${r.pod1.ip}, Neutron port ${r.pod1.status}; in the container: ${r.pod1.eth0}`,
  );
  console.log("\n== Experiment 2: connectivity between containers (the paper's Table 2)");
  for (const l of table2(r.pings)) console.log(l);
  console.log('\n== Warm port pools (kubenetctl get pools)');
  console.log(
    `${r.pool.container} (no reservation) on ${r.pool.node} took a ready pool port: ${r.pool.eth0}; podman run took ${r.pool.runMs} ms`,
  );
  console.log(r.pool.table);
  console.log(`\n== ovs-vswitchd restart on ${r.restart.node}, with nnet-agent on every node`);
  for (const l of restartLines(r.restart)) console.log(l);
  for (const a of r.agents) console.log(`nnet-agent on ${a.node}: pid ${a.pid}, metrics ${a.metricsUrl}`);
  console.log('\n== Experiment 3: Kubernetes networking (node ↔ pod, ClusterIP Services, DNS, hostPort)');
  console.log(
    'Services, written on both nodes by a STAND-IN for kube-proxy (its iptables rules; kube-proxy needs an API server, none runs here):',
  );
  for (const l of r.k8s.services) console.log(`  ${l}`);
  for (const l of table3(r.k8s.before)) console.log(l);
  const k = r.k8s.restart;
  console.log(
    `\nafter ${k.node}'s ovs-vswitchd restart (pid ${k.stoppedPid} TERM, pid ${k.startedPid} started): every row passed again ${k.recoveryMs === undefined ? 'NEVER (within 90 s)' : `${(k.recoveryMs / 1000).toFixed(2)} s after the kill`}`,
  );
  for (const l of table3(r.k8s.after)) console.log(l);
  const iso = table4(r.isolation);
  console.log(
    `\n== Experiment 4: pod isolation (${r.isolation.guarded} behind its own security group) and two NICs (${r.isolation.twonic})`,
  );
  for (const l of iso.flows) console.log(l);
  const f = r.isolation.flippedAfterMs;
  console.log(
    `the new group took effect on the running pod ${f === undefined ? 'NEVER (within 60 s)' : `${(f / 1000).toFixed(2)} s after \`kubenetctl set podnetwork\` returned`}; ${r.isolation.guarded}'s eth0 ifindex ${r.isolation.eth0Ifindex.join(' → ')} (${r.isolation.eth0Ifindex[0] === r.isolation.eth0Ifindex[1] ? 'the same NIC: no re-plug' : 'CHANGED: re-plugged'})`,
  );
  for (const l of r.isolation.shown) console.log(`${r.isolation.twonic}: ${l}`);
  for (const l of iso.nics) console.log(l);
  console.log('\n== Where the time went');
  for (const l of timeSummary(log.times(), r.seconds)) console.log(l);
  const passed = r.pings.filter((p) => p.ok).length;
  const ok =
    passed === r.pings.length &&
    r.pod1.status === 'ACTIVE' &&
    r.pod1.eth0.includes(`${r.pod1.ip}/16`) &&
    r.restart.recoveryMs !== undefined &&
    k8sOk(r.k8s) &&
    isolationOk(r.isolation);
  console.log(
    `\n${ok ? 'OK' : 'FAILED'}: ${passed}/${r.pings.length} pings passed, ${r.k8s.before.filter((x) => x.result === 'PASS').length}/${r.k8s.before.length} experiment-3 rows passed (${r.k8s.after.filter((x) => x.result === 'PASS').length} after the restart), ${isolationPassed(r.isolation)} experiment-4 rows passed, ${r.pod1.container} at ${r.pod1.ip}, recovered ${((r.restart.recoveryMs ?? Number.NaN) / 1000).toFixed(2)} s after the ovs-vswitchd restart; ${r.seconds.toFixed(1)} s in all.`,
  );
  console.log(
    `Look around: \`npm run lab -- status\`; ip netns list | grep ${opts.prefix}; remove it all: \`npm run lab -- down\`.`,
  );
  return ok ? 0 : 1;
}

async function nested(): Promise<number> {
  const log = stepLog(undefined, t0);
  const opts = {
    ...nestedLabOptions(labOptionsFromEnv(process.env)),
    log,
    ...(depsMs !== undefined ? { depsMs } : {}),
  };
  const r = await nestedUp(opts);
  const t = nestedTables(r);
  console.log('\n== Nested mode: Kubernetes nodes that are OpenStack VMs (pods on trunk subports)');
  for (const v of r.vms)
    console.log(
      `${v.name}: NIC = Neutron port ${v.parentPort}, trunk ${v.trunk}, nnet-agent pid ${v.agentPid}`,
    );
  console.log('\n== Experiment 1 in a VM: a pod with a chosen subnet and static IP');
  console.log(
    `${r.pod1.container} (a podman container) in ${r.pod1.node}: IP ${r.pod1.ip}, Neutron port ${r.pod1.status}, VLAN ${r.pod1.vlan ?? 'none'} on its VM's trunk; in the container: ${r.pod1.eth0}`,
  );
  console.log('\n== The connectivity matrix among nested pods');
  for (const l of t.matrix) console.log(l);
  console.log("\n== Probes and Services through the VMs' own ports (kube-proxy STAND-IN in each VM)");
  for (const l of t.services) console.log(l);
  console.log("\n== Each nested pod's subport (openstack network trunk show, port show)");
  for (const l of t.subports) console.log(l);
  console.log('\n== Where the time went');
  for (const l of timeSummary(log.times(), r.seconds)) console.log(l);
  const ok = nestedOk(r);
  const passed = r.rows.filter((x) => x.ok).length;
  console.log(
    `\n${ok ? 'OK' : 'FAILED'}: ${passed}/${r.rows.length} pings passed, ${r.services.filter((x) => x.ok).length}/${r.services.length} probe and Service rows, ${r.subports.length} pods on trunk subports with distinct VLANs, ${r.pod1.container} at ${r.pod1.ip} in ${r.pod1.node}; ${r.seconds.toFixed(1)} s in all.`,
  );
  console.log(
    `Look around: \`npm run lab -- status\`; remove it (and the main lab): \`npm run lab -- down\`.`,
  );
  return ok ? 0 : 1;
}

/**
 * Both labs, the one that started the environment last: its `down` stops the environment, which
 * the other one's needs.
 */
const bothLabs = () => {
  const main = labOptionsFromEnv(process.env);
  const nested = nestedLabOptions(main);
  return startedEnv(nested) ? [main, nested] : [nested, main];
};

function startedEnv(o: { dir: string }): boolean {
  try {
    return JSON.parse(readFileSync(join(o.dir, 'state.json'), 'utf8')).envStartedByLab === true;
  } catch {
    return false;
  }
}

async function down(): Promise<number> {
  let left = 0;
  for (const o of bothLabs()) {
    const r = await labDown({ ...o, log: stepLog() });
    for (const l of r.lines) console.log(l);
    left += r.left.length;
    if (r.left.length > 0) for (const l of formatLeftovers(r.left, 'down')) console.log(l);
  }
  if (left === 0) console.log('lab removed');
  return left === 0 ? 0 : 1;
}

async function status(): Promise<number> {
  const main = labOptionsFromEnv(process.env);
  const nestedOpts = nestedLabOptions(main);
  for (const l of await labStatus({ ...main, log: stepLog() })) console.log(l);
  const n = existsSync(join(nestedOpts.dir, 'state.json'))
    ? await labStatus({ ...nestedOpts, log: stepLog() })
    : [];
  if (n.length > 0 && n[0] !== 'the lab is not running') {
    console.log('\nthe nested lab (npm run lab -- nested):');
    for (const l of n) console.log(l);
  }
  return 0;
}

const commands: Record<string, () => Promise<number>> = { up, nested, down, status };
try {
  const fn = commands[cmd];
  if (!fn) {
    console.error(`usage: npm run lab [-- up|nested|down|status]   (unknown command "${cmd}")`);
    process.exitCode = 2;
  } else process.exitCode = await fn();
} catch (e) {
  if (e instanceof LabLeftoversError) console.error(e.message);
  else console.error(`lab ${cmd} failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
