/**
 * kubenetctl from argv to exit status: parse, then either pass the line to kubectl or dispatch
 * the network command (which runs kubectl itself when the line has a native part).
 */
import { type CliIo, type CommandContext, createContext } from './context.ts';
import { dispatch } from './dispatch.ts';
import { toCliFailure } from './exit.ts';
import type { ExitStatus } from './kubectl.ts';
import { parseCommandLine } from './parse.ts';
import { asKubectlPlugin } from './plugin.ts';
import { interruptedStatus } from './signals.ts';

export async function main(argv: readonly string[], io: CliIo): Promise<ExitStatus> {
  let ctx: CommandContext | undefined;
  try {
    const parsed = parseCommandLine(argv);
    const { native, network } = io.invokedAs === 'kubectl-nnet' ? asKubectlPlugin(argv, parsed) : parsed;
    ctx = createContext(native, io);
    if (network === null) return await ctx.kubectl(native ?? []);
    return await dispatch(network, ctx);
  } catch (err) {
    const failure = toCliFailure(err, io.env);
    io.stderr(failure.message);
    const signal = ctx?.interrupted();
    return signal ? interruptedStatus(signal) : { code: failure.exitCode };
  } finally {
    await ctx?.close().catch(() => undefined);
  }
}
