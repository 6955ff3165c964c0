/**
 * `nnet-agent`: the N-Net node agent (one per node; deploy/systemd/nnet-agent.service or the
 * DaemonSet in deploy/k8s/nnet.yaml). See src/agent.
 */
import { main } from '../agent/index.ts';

process.on('uncaughtException', (e) => {
  process.stderr.write(
    `${JSON.stringify({ ts: new Date().toISOString(), level: 'error', component: 'agent', pid: process.pid, msg: 'uncaught exception', error: e instanceof Error ? e.message : String(e) })}\n`,
  );
  process.exit(1);
});

const code = await main(process.argv.slice(2));
// Flush stdout, then exit even if a socket or timer was left behind.
process.stdout.write('', () => process.exit(code));
