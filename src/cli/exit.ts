/**
 * The one place where any failure becomes what kubenetctl prints and its exit code. Like kubectl:
 * `error: …` on stderr and exit 1 for every error. Messages of N-Net's errors never hold secrets;
 * an unknown exception prints only its message (its stack only with NNET_DEBUG=1).
 */
import { type AnyNnetError, isNnetError } from '../errors/index.ts';

export interface CliFailure {
  /** The full stderr text, ending with a newline. */
  message: string;
  exitCode: 1;
}

/** A next step for the user, by domain and reason. */
function hintFor(err: AnyNnetError): string | undefined {
  switch (err.domain) {
    case 'identity':
      if (err.reason === 'no-credentials')
        return 'kubenetctl finds OpenStack credentials as the openstack CLI does: set OS_CLOUD (or --os-cloud) to a clouds.yaml entry, or source an openrc (OS_AUTH_URL, OS_USERNAME, …)';
      if (err.reason === 'unreachable') return 'Keystone did not answer; check the auth URL and retry';
      return undefined;
    case 'store':
      if (err.reason === 'not-registered')
        return "register the cluster with 'kubenetctl create cluster NAME'";
      if (err.reason === 'unavailable') return "N-Net's store is unavailable; retry";
      return undefined;
    case 'neutron':
      if (err.reason === 'unavailable') return 'Neutron is unavailable; retry';
      return undefined;
    default:
      return undefined;
  }
}

function causes(err: unknown): string[] {
  const out: string[] = [];
  let cause = err instanceof Error ? err.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    out.push(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause));
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return out;
}

export function toCliFailure(
  err: unknown,
  env: Readonly<Record<string, string | undefined>> = {},
): CliFailure {
  const debug = env.NNET_DEBUG === '1';
  const lines: string[] = [];
  if (isNnetError(err)) {
    lines.push(`error: ${err.message}`);
    const hint = hintFor(err);
    if (hint) lines.push(`hint: ${hint}`);
    if (debug) {
      lines.push(`  (${err.domain}/${err.reason})`);
      if (err.details) lines.push(`  details: ${err.details}`);
      for (const c of causes(err)) lines.push(`  caused by: ${c}`);
    }
  } else {
    const message = err instanceof Error ? err.message : String(err);
    lines.push(`error: internal error: ${message}`);
    if (debug) {
      if (err instanceof Error && err.stack) lines.push(err.stack);
      for (const c of causes(err)) lines.push(`  caused by: ${c}`);
    }
  }
  return { message: `${lines.join('\n')}\n`, exitCode: 1 };
}
