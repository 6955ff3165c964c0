/** Runs plug steps in order, recording an undo for each one that changed something. */
import { DeployError } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import type { PlugStep } from './spec.ts';

export interface Step {
  name: PlugStep;
  /** Does the step; returns an undo when it changed something (undefined: it was already so). */
  run(): Promise<(() => Promise<void>) | undefined>;
}

/**
 * Runs `steps`; on failure undoes, newest first, what the completed steps did, then rethrows the
 * original error (undo failures are logged and added to its details). `failAfter` (tests only)
 * injects a failure right after the named step
 * (`failBy: 'sigkill'`: kills the process there instead). Returns whether any step changed something.
 */
export async function runSteps(
  steps: readonly Step[],
  opts: {
    failAfter?: PlugStep | undefined;
    failBy?: 'error' | 'sigkill' | undefined;
    log: Logger;
    what: string;
  },
): Promise<boolean> {
  const undos: { name: PlugStep; undo: () => Promise<void> }[] = [];
  try {
    for (const s of steps) {
      const undo = await s.run();
      if (undo) undos.push({ name: s.name, undo });
      if (opts.failAfter === s.name) {
        // Test-only fault injection: die here, as a crash would, with nothing undone.
        if (opts.failBy === 'sigkill') process.kill(process.pid, 'SIGKILL');
        throw new DeployError(
          'link',
          `injected failure after step ${s.name} of ${opts.what} (failAfter, tests only)`,
        );
      }
    }
    return undos.length > 0;
  } catch (err) {
    const undoErrors: string[] = [];
    for (const u of undos.reverse()) {
      try {
        await u.undo();
      } catch (e) {
        undoErrors.push(`undo ${u.name}: ${(e as Error).message}`);
        opts.log.error('undo failed', { what: opts.what, step: u.name, error: (e as Error).message });
      }
    }
    if (undoErrors.length > 0 && err instanceof DeployError)
      throw new DeployError(err.reason, err.message, {
        cause: err.cause ?? err,
        details: [err.details, ...undoErrors].filter(Boolean).join('\n'),
      });
    throw err;
  }
}
