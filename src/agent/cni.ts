/**
 * One CNI request, as the thin plugin forwarded it: the plugin's own entry (src/cni runPlugin) on
 * the forwarded env and stdin, with the verbs working on the agent's warm node contexts. Parsing,
 * error JSON and codes are exactly the in-process plugin's; only where the work happens moved.
 */
import { type NetConf, runPlugin } from '../cni/index.ts';
import { nodeVerbs } from '../cni/verbs/index.ts';
import { type AgentAnswer, PROTOCOL_VERSION } from '../cniproto/index.ts';
import type { CniCall } from './cniserver.ts';
import type { NodeContexts } from './contexts.ts';
import type { AgentMetrics } from './metrics.ts';

export interface CniHandlerOptions {
  contexts: NodeContexts;
  metrics: AgentMetrics;
  /** Where a request's errors go when its config cannot be read (the agent's own log file). */
  fallbackLogFile?: string | undefined;
  /** Requests wait for this (the start-up reconcile) before they run. */
  ready?: Promise<unknown>;
  now?: () => number;
}

export function createCniHandler(o: CniHandlerOptions): (call: CniCall) => Promise<AgentAnswer> {
  const verbs = nodeVerbs((req, fn) =>
    o.contexts.run(req.conf as NetConf, { log: req.log, signal: req.signal }, fn),
  );
  const now = o.now ?? Date.now;
  return async (call) => {
    await o.ready;
    const started = now();
    let stdout = '';
    const code = await runPlugin({
      env: call.env,
      stdin: call.stdin,
      verbs,
      stdout: {
        write(chunk: string) {
          stdout += chunk;
        },
      },
      ...(o.fallbackLogFile ? { fallbackLogFile: o.fallbackLogFile } : {}),
    });
    const command = call.env.CNI_COMMAND ?? '';
    if (command !== '' && command !== 'VERSION')
      o.metrics.cniDuration.observe((now() - started) / 1000, { command, result: resultOf(code, stdout) });
    return { v: PROTOCOL_VERSION, code, stdout };
  };
}

function resultOf(code: number, stdout: string): 'ok' | 'error' | 'not-ready' {
  if (code === 0) return 'ok';
  return /"code":5[01][,}]/.test(stdout) ? 'not-ready' : 'error';
}
