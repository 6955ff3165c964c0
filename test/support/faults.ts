/**
 * Test-only fault injection through the one hook of src/faults: in this process (failAfter), or
 * in a test build of a binary (test/support/faulty/) that reads NNET_FAULT_KILL_AFTER /
 * NNET_FAULT_FAIL_AFTER from its environment.
 */
import { PlugError } from '../../src/errors/index.ts';
import { type FaultPoint, installFaultHook } from '../../src/faults/index.ts';

/** The error an injected failure throws; its message names the point. */
export function injectedFailure(point: FaultPoint): PlugError {
  return new PlugError('link', `injected failure after step ${point} (test fault hook)`);
}

/** Runs `fn` with a failure injected right after `point`, then removes the hook. */
export async function withFailureAfter<T>(point: FaultPoint, fn: () => Promise<T>): Promise<T> {
  installFaultHook((p) => {
    if (p === point) throw injectedFailure(p);
  });
  try {
    return await fn();
  } finally {
    installFaultHook(undefined);
  }
}
