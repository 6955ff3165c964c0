import type { Handler } from '../context.ts';
import { helpFor, networkCommandsSection } from '../help.ts';

/** N-Net topics print their own help; the top level is kubectl's help plus the N-Net section. */
export const help: Handler<'help'> = async (command, ctx) => {
  if (command.topic) {
    ctx.io.stdout(helpFor(command.topic));
    return { code: 0 };
  }
  const result = await ctx.kubectl(ctx.native ?? ['--help'], { captureStdout: true });
  if (result.stdout) ctx.io.stdout(result.stdout);
  if (result.code === 0) ctx.io.stdout(networkCommandsSection());
  return result;
};
