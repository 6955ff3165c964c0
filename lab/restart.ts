/**
 * The lab's reliability step: one node's ovs-vswitchd is restarted (TERM by PID, then started again
 * on the same DB, as a supervisor would) while a pod on that node pings a pod on the other node
 * every 100 ms. With the userspace datapath the pod's NIC goes dead at the restart (ovs-vswitchd
 * recreates its tap in the node's netns); nnet-agent sees it in OVSDB and re-plugs it. Measured:
 * packets sent, received and lost (ping's own counts), and the time from the kill to the first
 * reply after the new ovs-vswitchd started.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { agentMetric } from './agent.ts';
import type { OvsNode } from './ovs-node.ts';
import type { NodePodman } from './podman.ts';
import { podman } from './podman.ts';
import { SYSTEM_PATH, sleep, waitFor } from './sh.ts';

const ROOT = join(import.meta.dirname, '..');
const INTERVAL_S = 0.1;

export interface RestartResult {
  node: string;
  from: string;
  to: string;
  toIp: string;
  stoppedPid: number;
  startedPid: number;
  sent: number;
  received: number;
  lost: number;
  /** From the kill to the first reply after the new ovs-vswitchd started (undefined: none came). */
  recoveryMs: number | undefined;
  /** From the new ovs-vswitchd's start to that reply: the agent's share. */
  afterStartMs: number | undefined;
  replugs: { before: number | undefined; after: number | undefined };
}

export interface RestartSetup {
  node: OvsNode;
  nodePodman: NodePodman;
  from: string; // container on `node`
  to: string;
  toIp: string;
  metricsUrl: string;
  info(line: string): void;
}

interface PingRun {
  replies: { seq: number; at: number }[];
  output: string[];
  exited: Promise<number | null>;
}

/**
 * `ping` inside the container, each reply timestamped on arrival. busybox ping exits when a send
 * fails (the re-plug deletes and recreates eth0, so there is a moment without a route): a loop
 * starts it again until /tmp/ping.run is removed; the running ping's PID is in /tmp/ping.pid.
 */
function startPing(p: NodePodman, container: string, ip: string): PingRun {
  const loop = `touch /tmp/ping.run; while [ -e /tmp/ping.run ]; do ping -i ${INTERVAL_S} -W 1 ${ip} & echo $! > /tmp/ping.pid; wait $!; done`;
  const child = spawn('bash', [join(ROOT, 'scripts/podman.sh'), 'exec', container, 'sh', '-c', loop], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PATH: SYSTEM_PATH,
      NNET_PODMAN_DIR: p.dir,
      NNET_PODMAN_NET_D: p.netD,
      NNET_PODMAN_CNI_BIN: p.cniBin,
    },
  });
  const run: PingRun = {
    replies: [],
    output: [],
    exited: new Promise((resolve) => child.on('close', (code) => resolve(code))),
  };
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      run.output.push(l);
      const m = /seq=(\d+)/.exec(l);
      if (m && l.includes('bytes from')) run.replies.push({ seq: Number(m[1]), at: Date.now() });
    }
  });
  child.stderr.on('data', (d: Buffer) => run.output.push(d.toString('utf8').trim()));
  return run;
}

export async function restartVswitchdWhilePinging(s: RestartSetup): Promise<RestartResult> {
  const replugsBefore = await agentMetric(s.metricsUrl, 'nnet_replugs_total');
  s.info(`$ podman exec ${s.from} ping -i ${INTERVAL_S} ${s.toIp}   (in the background)`);
  const ping = startPing(s.nodePodman, s.from, s.toIp);
  try {
    await waitFor('10 ping replies before the restart', async () => ping.replies.length >= 10, 20_000);
    const killedAt = Date.now();
    const { stoppedPid, startedPid } = await s.node.restartVswitchd('SIGTERM');
    const startedAt = Date.now();
    s.info(
      `(${s.node.name}) ovs-vswitchd pid ${stoppedPid} stopped (TERM), pid ${startedPid} started ${startedAt - killedAt} ms later`,
    );
    const firstAfter = () => ping.replies.find((r) => r.at > startedAt);
    await waitFor('a ping reply after the restart', async () => firstAfter() !== undefined, 30_000).catch(
      () => undefined,
    );
    const first = firstAfter();
    await sleep(1_000);
    await stopPing(s);
    await Promise.race([ping.exited, sleep(10_000)]);
    // One line per ping run (more than one when a run died at the re-plug).
    const runs = [...ping.output.join('\n').matchAll(/(\d+) packets transmitted, (\d+) packets received/g)];
    const sent = runs.reduce((n, m) => n + Number(m[1]), 0);
    const received = runs.reduce((n, m) => n + Number(m[2]), 0);
    if (!first) for (const l of ping.output.slice(-8)) s.info(`| ${l}`);
    return {
      node: s.node.name,
      from: s.from,
      to: s.to,
      toIp: s.toIp,
      stoppedPid,
      startedPid,
      sent,
      received,
      lost: sent - received,
      recoveryMs: first ? first.at - killedAt : undefined,
      afterStartMs: first ? first.at - startedAt : undefined,
      replugs: { before: replugsBefore, after: await agentMetric(s.metricsUrl, 'nnet_replugs_total') },
    };
  } finally {
    await stopPing(s); // it must not outlive the step, whatever happened
  }
}

function stopPing(s: RestartSetup) {
  const stop = 'rm -f /tmp/ping.run; kill -INT $(cat /tmp/ping.pid) 2>/dev/null; true';
  return podman(s.nodePodman, ['exec', s.from, 'sh', '-c', stop], { allowFail: true });
}
