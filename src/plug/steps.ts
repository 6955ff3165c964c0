/** Runs plug steps in order, recording an undo for each one that changed something. */
import { PlugError } from '../errors/index.ts';
import { faultPoint } from '../faults/index.ts';
import type { Logger } from '../log/index.ts';
import type { PlugStep } from './spec.ts';

export interface Step {
  name: PlugStep;
  /** Does the step; returns an undo when it changed something (undefined: it was already so). */
  run(): Promise<(() => Promise<void>) | undefined>;
}

/**
 * Runs `steps`; on failure undoes, newest first, what the completed steps did, then rethrows the
 * original error (undo failures are logged and added to its details). Each step is a fault point
 * (src/faults) once it is done. Returns whether any step changed something.
 */
export async function runSteps(
  steps: readonly Step[],
  opts: {
    log: Logger;
    what: string;
  },
): Promise<boolean> {
  const undos: { name: PlugStep; undo: () => Promise<void> }[] = [];
  try {
    for (const s of steps) {
      const undo = await s.run();
      if (undo) undos.push({ name: s.name, undo });
      await faultPoint(s.name);
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
    if (undoErrors.length > 0 && err instanceof PlugError)
      throw new PlugError(err.reason, err.message, {
        cause: err.cause ?? err,
        details: [err.details, ...undoErrors].filter(Boolean).join('\n'),
      });
    throw err;
  }
}
