/**
 * The fault hook of the test builds of N-Net's binaries: NNET_FAULT_KILL_AFTER=<point> SIGKILLs
 * the process right after that point (as a crash would: no undo runs), NNET_FAULT_FAIL_AFTER=<point>
 * throws there (the undo runs), NNET_FAULT_DELAY_AFTER=<point>:<ms> pauses there (time for a test
 * to kill the runtime waiting for the answer). Never part of a shipped bundle.
 */
import { installFaultHook } from '../../../src/faults/index.ts';
import { injectedFailure } from '../faults.ts';

const kill = process.env.NNET_FAULT_KILL_AFTER;
const fail = process.env.NNET_FAULT_FAIL_AFTER;
const [delayPoint, delayMs] = (process.env.NNET_FAULT_DELAY_AFTER ?? '').split(':');
if (kill || fail || delayPoint)
  installFaultHook(async (point) => {
    if (point === kill) process.kill(process.pid, 'SIGKILL');
    if (point === fail) throw injectedFailure(point);
    if (point === delayPoint) await new Promise((r) => setTimeout(r, Number(delayMs) || 1000));
  });
