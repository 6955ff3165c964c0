/**
 * `npm run lab [up|down|status]`: the two-node N-Net lab on real OpenStack, and the paper's
 * experiments 1 and 2. Everything it makes is recorded under .lab/lab; `down` removes exactly that.
 */
import { DEFAULT_LAB, labDown, labStatus, labUp, table2 } from './lab.ts';
import { stepLog } from './steps.ts';

const cmd = process.argv[2] ?? 'up';
const log = stepLog();
const opts = { ...DEFAULT_LAB, log };

try {
  if (cmd === 'up') {
    console.log(
      "N-Net lab: two nodes on real Keystone + Neutron (ML2/OVN), the paper's experiments 1 and 2\n",
    );
    const r = await labUp(opts);
    console.log('\n== Experiment 1: a pod with a chosen subnet and static IP');
    console.log(
      `pod1 on ${r.pod1.node}: IP ${r.pod1.ip}, Neutron port ${r.pod1.status}; in the pod: ${r.pod1.eth0}`,
    );
    console.log("\n== Experiment 2: connectivity (the paper's Table 2)");
    for (const l of table2(r.pings)) console.log(l);
    const passed = r.pings.filter((p) => p.ok).length;
    const ok =
      passed === r.pings.length && r.pod1.status === 'ACTIVE' && r.pod1.eth0.includes(`${r.pod1.ip}/16`);
    console.log(
      `\n${ok ? 'OK' : 'FAILED'}: ${passed}/${r.pings.length} pings passed, pod1 at ${r.pod1.ip}; ${r.seconds.toFixed(1)} s in all.`,
    );
    console.log(
      'Look around: ip netns list | grep nnl; `npm run lab -- status`; remove it all: `npm run lab -- down`.',
    );
    process.exitCode = ok ? 0 : 1;
  } else if (cmd === 'down') {
    for (const l of await labDown(opts)) console.log(l);
    console.log('lab removed');
  } else if (cmd === 'status') {
    for (const l of await labStatus(opts)) console.log(l);
  } else {
    console.error(`usage: npm run lab [-- up|down|status]   (unknown command "${cmd}")`);
    process.exitCode = 2;
  }
} catch (e) {
  console.error(`lab ${cmd} failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
