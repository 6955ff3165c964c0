/**
 * nnet-agent on a lab node: the built dist/nnet-agent.js on the node's conflist, in the host netns
 * (it reaches the store and Neutron as kubenetctl does), with its metrics on 127.0.0.1 at a port
 * of its own (the kernel picks a free one; the agent logs it and the lab records it). Started
 * detached and stopped by its recorded PID, like the node's other daemons.
 */
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SYSTEM_PATH, waitFor } from './sh.ts';
import type { StateFile } from './state.ts';

const ROOT = join(import.meta.dirname, '..');

export interface LabAgent {
  node: string;
  pid: number;
  metricsUrl: string;
  logFile: string;
}

function logLines(file: string): Record<string, unknown>[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((l) => {
    try {
      return l.trim() ? [JSON.parse(l) as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

export async function startAgent(
  state: StateFile,
  node: string,
  conflist: string,
  dir: string,
): Promise<LabAgent> {
  const logFile = join(dir, 'nnet-agent.log');
  const stderr = openSync(join(dir, 'nnet-agent.stderr'), 'a');
  const skip = logLines(logFile).length;
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'dist/nnet-agent.js'),
      '--cni-config',
      conflist,
      '--metrics-listen',
      '127.0.0.1:0',
      '--log-file',
      logFile,
    ],
    { detached: true, stdio: ['ignore', 'ignore', stderr], env: { PATH: SYSTEM_PATH } },
  );
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error(`cannot start nnet-agent on ${node}`);
  state.update((s) => {
    s.pids.push({ label: `${node}-nnet-agent`, pid, marker: conflist });
  });
  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? 1;
  });
  let metricsUrl = '';
  await waitFor(
    `nnet-agent on ${node} to watch OVSDB and serve metrics (log: ${logFile})`,
    async () => {
      if (exited !== null) return true;
      const lines = logLines(logFile).slice(skip);
      metricsUrl = String(lines.find((l) => l.msg === 'serving metrics')?.url ?? '');
      return metricsUrl !== '' && lines.some((l) => l.msg === 'watching OVSDB');
    },
    30_000,
  );
  if (exited !== null) throw new Error(`nnet-agent on ${node} exited (${exited}); see ${logFile}`);
  const agent = { node, pid, metricsUrl, logFile };
  state.update((s) => {
    s.agents = [...s.agents.filter((a) => a.node !== node), agent];
  });
  return agent;
}

/** One sample of the agent's metrics (undefined when it does not answer or lacks the series). */
export async function agentMetric(url: string, series: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  } catch {
    return undefined;
  }
}
