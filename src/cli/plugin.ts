/**
 * kubenetctl as the kubectl plugin `kubectl-nnet`. kubectl's plugin convention: an executable
 * named kubectl-nnet on PATH; `kubectl nnet ARGS` runs `kubectl-nnet ARGS`, so argv is the network
 * command itself (kubectl has consumed `nnet`). The same file serves both names, told apart by the
 * name it was run as. As a plugin it takes N-Net's commands only: a line that is all kubectl's is
 * refused with the kubectl command to run instead; mixed lines (`run POD --image=… --ip=…`,
 * `apply -f` with N-Net annotations) still run kubectl for their native part. `version` and the
 * top-level help print N-Net's part only (kubectl prints its own).
 *
 *   invokedAs('/usr/local/bin/kubectl-nnet'); // 'kubectl-nnet'
 */
import { basename } from 'node:path';
import { InputError } from '../errors/index.ts';
import type { ParsedCommandLine } from './types.ts';

export type InvokedAs = 'kubenetctl' | 'kubectl-nnet';

export function invokedAs(argv1: string | undefined): InvokedAs {
  return basename(argv1 ?? '').replace(/\.[cm]?js$/, '') === 'kubectl-nnet' ? 'kubectl-nnet' : 'kubenetctl';
}

/** The parsed line as `kubectl nnet` runs it. */
export function asKubectlPlugin(argv: readonly string[], parsed: ParsedCommandLine): ParsedCommandLine {
  const { network } = parsed;
  if (network === null) {
    const line = argv.join(' ').slice(0, 200);
    throw new InputError(
      'invalid-argument',
      `"kubectl nnet ${line}" is not an N-Net command; kubectl's own commands run without nnet: kubectl ${line}`,
    );
  }
  if (network.kind === 'version' || (network.kind === 'help' && !network.topic))
    return { native: null, network };
  return parsed;
}

/** Help text with the command named as the user typed it. */
export function commandName(text: string, as: InvokedAs | undefined): string {
  return as === 'kubectl-nnet' ? text.replace(/\bkubenetctl (?=\S)/g, 'kubectl nnet ') : text;
}
