/**
 * nnet-install-cni from argv to exit status: flags → read the template → plan (render and validate)
 * → write. Every check runs before the first write, so bad
 * input (exit 2) writes nothing. A rejected template is reported with the plugin's own CNI error
 * code and text, e.g.
 *   nnet-install-cni: invalid conflist template /etc/nnet/config/10-nnet.conflist (CNI error code 7):
 *   invalid network config: field "plugDriver" must be one of internal, hybrid, vlan (got "veth")
 */
import { readFile } from 'node:fs/promises';
import { toCniError } from '../cni/index.ts';
import { InputError, isNnetError } from '../errors/index.ts';
import { applyInstall, type InstallReport } from './apply.ts';
import { type InstallArgs, parseInstallArgs, USAGE } from './args.ts';
import { type InstallPlan, planInstall } from './plan.ts';

export interface InstallIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout(text: string): void;
  stderr(text: string): void;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function readTemplate(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new InputError(
      'io',
      `cannot read the conflist template ${file}: ${(e as NodeJS.ErrnoException).code ?? message(e)}`,
    );
  }
}

function describeFailure(e: unknown, args: InstallArgs): string {
  if (isNnetError(e) && e.domain === 'input' && (e.reason === 'invalid-config' || e.reason === 'decode')) {
    const cni = toCniError(e, 'ADD');
    return `invalid conflist template ${args.template} (CNI error code ${cni.code}): ${cni.msg}`;
  }
  return message(e);
}

function reportLines(plan: InstallPlan, r: InstallReport): string {
  const lines = r.removedLeftovers.map((f) => `removed leftover ${f}`);
  lines.push(`${r.plugin} ${plan.plugin.dest}`);
  lines.push(`${r.conflist} ${plan.conflist.dest}`);
  return `${lines.join('\n')}\n`;
}

export async function main(argv: readonly string[], io: InstallIo): Promise<number> {
  let args: InstallArgs;
  try {
    args = parseInstallArgs(argv);
  } catch (e) {
    io.stderr(`nnet-install-cni: ${message(e)}\n`);
    return 2;
  }
  if (args.help) {
    io.stdout(USAGE);
    return 0;
  }
  let plan: InstallPlan;
  try {
    plan = await planInstall(args, await readTemplate(args.template), {
      nodeName: io.env.NODE_NAME || undefined,
    });
  } catch (e) {
    io.stderr(`nnet-install-cni: ${describeFailure(e, args)}\n`);
    return 2;
  }
  try {
    io.stdout(reportLines(plan, await applyInstall(plan)));
    return 0;
  } catch (e) {
    io.stderr(
      `nnet-install-cni: installing failed, the files it had not replaced are intact: ${message(e)}\n`,
    );
    return 1;
  }
}
