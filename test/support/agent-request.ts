/**
 * One CNI request served the way nnet-agent serves it (its node contexts and CNI handler, in this
 * process), without a socket or a start-up reconcile: for tests that point a request at servers
 * no agent could start against (e.g. a store or Keystone that only sends huge replies) and that
 * measure the serving process itself. Environment: the CNI_* variables; stdin: the config.
 * Prints the answer's stdout and exits with its code; the test reads VmHWM via its preload.
 *
 *   node --import tsx test/support/agent-request.ts < conf.json
 */
import { createCniHandler, createNodeContexts } from '../../src/agent/index.ts';
import { createMetrics } from '../../src/agent/metrics.ts';
import { createLogger } from '../../src/log/index.ts';

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const log = createLogger({ file: process.env.NNTB_AGENT_LOG ?? '/dev/null', component: 'agent' });
const contexts = createNodeContexts({ log });
const fallback = process.env.NNTB_FALLBACK_LOG;
const handle = createCniHandler({
  contexts,
  metrics: createMetrics(),
  ...(fallback ? { fallbackLogFile: fallback } : {}),
});
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    (e): e is [string, string] => e[0].startsWith('CNI_') && e[1] !== undefined,
  ),
);
const answer = await handle({ env, stdin: new Uint8Array(Buffer.concat(chunks)) });
process.stdout.write(answer.stdout);
await contexts.close();
process.exit(answer.code);
