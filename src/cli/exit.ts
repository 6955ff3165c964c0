/**
 * The one place where any failure becomes what kubenetctl prints and its exit code. Like kubectl:
 * `error: …` on stderr and exit 1 for every error. Messages of N-Net's errors never hold secrets;
 * an unknown exception prints only its message (its stack only with NNET_DEBUG=1).
 */
import { type AnyNnetError, isNnetError } from '../errors/index.ts';

/** Parsers (JSON.parse, yaml) quote the input they choke on, which may hold a secret. */
function isParserError(e: unknown): boolean {
  return e instanceof SyntaxError || (e instanceof Error && /^YAML\w*(Error|Exception)$/.test(e.name));
}

function messageOf(e: unknown): string {
  if (isParserError(e))
    return `${(e as Error).name} while parsing input (its text is withheld: it may quote the input)`;
  return e instanceof Error ? e.message : String(e);
}

export interface CliFailure {
  /** The full stderr text, ending with a newline. */
  message: string;
  exitCode: 1;
}

const TLS_HINT =
  "a TLS configuration error, not an outage: set cacert (OS_CACERT) to the CA that signed the server's certificate, cert/key (OS_CERT/OS_KEY) if the server wants a client certificate, or verify: false (OS_INSECURE=true) to skip verification";
const TOO_LARGE_HINT =
  'the reply was not read past the cap; something in front of the service (a proxy) or the service itself sent far more than a real reply holds';

/** A next step for the user, by domain and reason. */
function hintFor(err: AnyNnetError): string | undefined {
  switch (err.domain) {
    case 'identity':
      if (err.reason === 'no-credentials')
        return 'kubenetctl finds OpenStack credentials as the openstack CLI does: set OS_CLOUD (or --os-cloud) to a clouds.yaml entry, or source an openrc (OS_AUTH_URL, OS_USERNAME, …)';
      if (err.reason === 'unreachable') return 'Keystone did not answer; check the auth URL and retry';
      if (err.reason === 'tls') return TLS_HINT;
      if (err.reason === 'too-large') return TOO_LARGE_HINT;
      return undefined;
    case 'store':
      if (err.reason === 'not-registered')
        return "register the cluster with 'kubenetctl create cluster NAME'";
      if (err.reason === 'unavailable') return "N-Net's store is unavailable; retry";
      if (err.reason === 'tls')
        return 'check cacert=, cert= and key= in the etcd store URL against the certificates etcd serves and trusts';
      if (err.reason === 'rejected')
        return 'check user= and password-file= (or token-file=) in the etcd store URL, and that the role of that user may read and write the prefix';
      if (err.reason === 'too-large') return TOO_LARGE_HINT;
      return undefined;
    case 'neutron':
      if (err.reason === 'unavailable') return 'Neutron is unavailable; retry';
      if (err.reason === 'tls') return TLS_HINT;
      if (err.reason === 'too-large') return TOO_LARGE_HINT;
      return undefined;
    default:
      return undefined;
  }
}

function causes(err: unknown): string[] {
  const out: string[] = [];
  let cause = err instanceof Error ? err.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    out.push(cause instanceof Error ? `${cause.name}: ${messageOf(cause)}` : String(cause));
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
    lines.push(`error: internal error: ${messageOf(err)}`);
    if (debug) {
      if (err instanceof Error && err.stack && !isParserError(err)) lines.push(err.stack);
      for (const c of causes(err)) lines.push(`  caused by: ${c}`);
    }
  }
  return { message: `${lines.join('\n')}\n`, exitCode: 1 };
}
