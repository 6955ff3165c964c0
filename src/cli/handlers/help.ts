import type { Handler } from '../context.ts';
import { helpFor, networkCommandsSection } from '../help.ts';
import { commandName } from '../plugin.ts';

/** N-Net topics print their own help; the top level is kubectl's help plus the N-Net section. */
export const help: Handler<'help'> = async (command, ctx) => {
  if (command.topic) {
    ctx.io.stdout(commandName(helpFor(command.topic), ctx.io.invokedAs));
    return { code: 0 };
  }
  // `kubectl nnet --help`: kubectl prints its own help; ours alone.
  if (ctx.native === null) {
    ctx.io.stdout(commandName(networkCommandsSection(), ctx.io.invokedAs).replace(/^\n/, ''));
    return { code: 0 };
  }
  const result = await ctx.kubectl(ctx.native ?? ['--help'], { captureStdout: true });
  if (result.stdout) ctx.io.stdout(result.stdout);
  if (result.code === 0) ctx.io.stdout(networkCommandsSection());
  return result;
};
