/**
 * The fault hook of the test builds of N-Net's binaries: NNET_FAULT_KILL_AFTER=<point> SIGKILLs
 * the process right after that point (as a crash would: no undo runs), NNET_FAULT_FAIL_AFTER=<point>
 * throws there (the undo runs), NNET_FAULT_DELAY_AFTER=<point>:<ms>[,<point>:<ms>…] pauses there (time for a test
 * to kill the runtime waiting for the answer). Never part of a shipped bundle.
 */
import { installFaultHook } from '../../../src/faults/index.ts';
import { injectedFailure } from '../faults.ts';

const kill = process.env.NNET_FAULT_KILL_AFTER;
const fail = process.env.NNET_FAULT_FAIL_AFTER;
const delays = new Map(
  (process.env.NNET_FAULT_DELAY_AFTER ?? '')
    .split(',')
    .filter(Boolean)
    .map((d) => {
      const [point, ms] = d.split(':');
      return [point, Number(ms) || 1000] as const;
    }),
);
if (kill || fail || delays.size > 0)
  installFaultHook(async (point) => {
    if (point === kill) process.kill(process.pid, 'SIGKILL');
    if (point === fail) throw injectedFailure(point);
    const ms = delays.get(point);
    if (ms !== undefined) await new Promise((r) => setTimeout(r, ms));
  });
