/**
 * A real nnet-agent for a test node: the built dist/nnet-agent.js (or the fault-injecting test
 * build, dist/test/nnet-agent.js) on the test's conflist, serving CNI on a socket in the test's
 * temporary dir, logging JSON lines to a file there, metrics on a free port. Stopped by its PID.
 *
 *   const agent = await startAgent({ conflist, socket, logFile });
 *   t.after(() => agent.stop());
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from './env.ts';

export const AGENT = join(PROJECT_ROOT, 'dist/nnet-agent.js');
/** The test build with the fault hook (test/support/faulty/): NNET_FAULT_KILL_AFTER / _FAIL_AFTER. */
export const FAULTY_AGENT = join(PROJECT_ROOT, 'dist/test/nnet-agent.js');

export interface AgentOptions {
  conflist: string;
  socket: string;
  logFile: string;
  faulty?: boolean;
  /** Extra environment (NNET_FAULT_KILL_AFTER=<point> with `faulty`). */
  env?: Record<string, string>;
  /** Extra flags (e.g. --reconcile-interval 2s). */
  args?: string[];
  /** Called with the PID right after the spawn, before start-up (to record it for a later cleanup). */
  onSpawn?: (pid: number) => void;
}

export interface TestAgent {
  pid: number;
  socket: string;
  logFile: string;
  metricsUrl: string;
  child: ChildProcess;
  /** Resolves with the exit code (null: killed by a signal). */
  exited: Promise<number | null>;
  /** This agent's log lines (the file may hold earlier agents' too). */
  lines(): Record<string, unknown>[];
  /** SIGTERM, then SIGKILL after 20 s; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
}

function readLines(file: string): Record<string, unknown>[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((l) => {
    if (!l.trim()) return [];
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [{ msg: '(not JSON)', raw: l }];
    }
  });
}

/** Starts the agent and waits until it serves CNI and its start-up reconcile is done. */
export async function startAgent(o: AgentOptions): Promise<TestAgent> {
  const skip = readLines(o.logFile).length;
  const child = spawn(
    process.execPath,
    [
      o.faulty ? FAULTY_AGENT : AGENT,
      '--cni-config',
      o.conflist,
      '--socket',
      o.socket,
      '--log-file',
      o.logFile,
      '--metrics-listen',
      '127.0.0.1:0',
      ...(o.args ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...o.env } },
  );
  if (child.pid !== undefined) o.onSpawn?.(child.pid);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = () => readLines(o.logFile).slice(skip);
  const agent: TestAgent = {
    pid: child.pid!,
    socket: o.socket,
    logFile: o.logFile,
    metricsUrl: '',
    child,
    exited,
    lines,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    const l = lines();
    if (l.some((x) => x.msg === 'serving CNI') && l.some((x) => x.msg === 'start-up reconcile done')) break;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await agent.stop();
      throw new Error(
        `nnet-agent did not come up (exit ${child.exitCode ?? child.signalCode}): ${stderr.slice(-2000)} ${JSON.stringify(l.slice(-10))}`,
      );
    }
    await sleep(100);
  }
  agent.metricsUrl = String(lines().find((x) => x.msg === 'serving metrics')?.url ?? '');
  return agent;
}

/** One sample of the agent's metrics (undefined when the series is absent). */
export async function agentMetric(
  agent: Pick<TestAgent, 'metricsUrl'>,
  series: string,
): Promise<number | undefined> {
  const text = await (await fetch(agent.metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
