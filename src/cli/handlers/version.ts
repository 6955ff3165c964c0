import { parse as parseYaml } from 'yaml';
import pkg from '../../../package.json' with { type: 'json' };
import type { Handler } from '../context.ts';
import { formatYaml } from '../format.ts';

/**
 * kubenetctl's version, then kubectl's (kubectl gets the same arguments). As `kubectl nnet
 * version`, N-Net's only: the parser leaves no native part.
 */
export const version: Handler<'version'> = async (command, ctx) => {
  if (ctx.native === null) {
    const ours = { kubenetctlVersion: { gitVersion: `v${pkg.version}` } };
    if (command.output === 'json') ctx.io.stdout(`${JSON.stringify(ours, null, 2)}\n`);
    else if (command.output === 'yaml') ctx.io.stdout(formatYaml(ours));
    else ctx.io.stdout(`N-Net (kubectl nnet) Version: v${pkg.version}\n`);
    return { code: 0 };
  }
  const native = ctx.native;
  if (command.output === undefined) {
    ctx.io.stdout(`kubenetctl Version: v${pkg.version}\n`);
    return ctx.kubectl(native);
  }
  // -o json|yaml: one document holding both, so the output stays parseable.
  const result = await ctx.kubectl(native, { captureStdout: true });
  const text = result.stdout?.toString('utf8') ?? '';
  let kubectl: Record<string, unknown> = {};
  try {
    const parsed: unknown = command.output === 'json' ? JSON.parse(text) : parseYaml(text);
    if (typeof parsed === 'object' && parsed !== null) kubectl = parsed as Record<string, unknown>;
  } catch {
    // kubectl failed before printing; its error is already on stderr.
  }
  const merged = { kubenetctlVersion: { gitVersion: `v${pkg.version}` }, ...kubectl };
  ctx.io.stdout(command.output === 'json' ? `${JSON.stringify(merged, null, 2)}\n` : formatYaml(merged));
  return result;
};
