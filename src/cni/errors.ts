/**
 * THE mapping from N-Net's error domains (src/errors) to CNI error codes, and the error JSON.
 * Every failure of the plugin passes through `toCniError`; nothing else picks a code. The tables
 * are exhaustive Records over each domain's reasons, so adding a reason fails the type check here
 * until it is given a code. N-Net's own codes (≥ 100) are listed in src/cni/README.md.
 *
 *   toCniError(new NeutronError('ip-taken', 'IP 1.2.0.100 is held by port p1 (pod default/web)'), 'ADD')
 *   // → { code: 101, msg: 'IP 1.2.0.100 is held by port p1 (pod default/web)', details: … }
 */
import {
  type IdentityReason,
  type InputReason,
  isNnetError,
  type NeutronReason,
  type PlugReason,
  type StoreReason,
} from '../errors/index.ts';
import { CniCode, type CniCommand, type CniErrorJson, type CniVersion } from './spec.ts';

/** N-Net's plugin-specific codes (the spec leaves 100+ to plugins). */
export const NnetCode = {
  /** A bug or an unexpected failure; the message says what failed. */
  Internal: 100,
  /** The requested static IP is allocated to another port; the message names the holder. */
  IpTaken: 101,
  /** Keystone rejected the cluster's credentials. */
  CredentialsRejected: 102,
  /** The config's cluster is not registered in N-Net's store. */
  ClusterNotRegistered: 103,
  /** Neutron refused the request: bad request, conflict, over quota or forbidden by policy. */
  NeutronRejected: 104,
  /** N-Net's store is unreadable (not a database, bad schema, undecodable record). */
  StoreCorrupt: 105,
  /** Plugging the port into the pod failed (link, address, route). */
  PlugFailed: 106,
  /** CHECK found the attachment differing from what ADD set up. */
  CheckMismatch: 107,
  /** No credentials for the cluster, or Keystone's catalog lacks a usable network endpoint. */
  IdentityMisconfigured: 108,
  /** A Neutron object the request names (network, subnet, port) does not exist. */
  NeutronNotFound: 109,
  /** A record N-Net expected in its store does not exist. */
  StoreNotFound: 110,
  /** Neutron answered with content that makes no sense (a malformed address, route or id). */
  NeutronBadReply: 111,
  /**
   * A TLS handshake failed (Keystone, Neutron or etcd): the server's certificate is not trusted,
   * has expired or names another host, or the server refused the client certificate. A
   * configuration error: never retried.
   */
  TlsFailure: 112,
  /** A service's reply exceeded N-Net's size cap for it (Keystone, Neutron or etcd). */
  ReplyTooLarge: 113,
  /** etcd refused N-Net's user, password or token, or its permission on the store's prefix. */
  StoreRejected: 114,
  /** N-Net refused to act on a Neutron object that is not its cluster's or is another device's. */
  Refused: 115,
} as const;

const INPUT: Record<InputReason, number> = {
  decode: CniCode.DecodeFailure,
  'invalid-config': CniCode.InvalidConfig,
  'invalid-env': CniCode.InvalidEnv,
  'unsupported-version': CniCode.IncompatibleVersion,
  io: CniCode.IoFailure,
  'invalid-argument': CniCode.InvalidConfig,
};
const IDENTITY: Record<IdentityReason, number> = {
  rejected: NnetCode.CredentialsRejected,
  unreachable: CniCode.TryAgainLater,
  'no-endpoint': NnetCode.IdentityMisconfigured,
  'no-credentials': NnetCode.IdentityMisconfigured,
  tls: NnetCode.TlsFailure,
  'too-large': NnetCode.ReplyTooLarge,
};
const NEUTRON: Record<NeutronReason, number> = {
  'ip-taken': NnetCode.IpTaken,
  conflict: NnetCode.NeutronRejected,
  'not-found': NnetCode.NeutronNotFound,
  'bad-request': NnetCode.NeutronRejected,
  forbidden: NnetCode.NeutronRejected,
  'over-quota': NnetCode.NeutronRejected,
  'bad-reply': NnetCode.NeutronBadReply,
  refused: NnetCode.Refused,
  tls: NnetCode.TlsFailure,
  'too-large': NnetCode.ReplyTooLarge,
  unavailable: CniCode.TryAgainLater,
};
const STORE: Record<StoreReason, number> = {
  unavailable: CniCode.TryAgainLater,
  // A lost compare-and-swap clears up on a retry.
  conflict: CniCode.TryAgainLater,
  corrupt: NnetCode.StoreCorrupt,
  'not-found': NnetCode.StoreNotFound,
  'not-registered': NnetCode.ClusterNotRegistered,
  rejected: NnetCode.StoreRejected,
  tls: NnetCode.TlsFailure,
  'too-large': NnetCode.ReplyTooLarge,
};
const DEPLOY: Record<PlugReason, number> = {
  // "Container unknown or does not exist": the runtime need not clean up after it.
  'netns-missing': CniCode.UnknownContainer,
  'ovs-unavailable': CniCode.TryAgainLater,
  link: NnetCode.PlugFailed,
  'check-failed': NnetCode.CheckMismatch,
};

export interface CniFailure {
  code: number;
  msg: string;
  details?: string;
}

const MSG_MAX = 1024;
const DETAILS_MAX = 4096;

// Secret-looking values: key=value (env, query strings), "key": "value" (JSON), password/secret:
// value (YAML), auth headers, and Keystone fernet tokens.
const SECRET_ASSIGN = /\b((?:pass(?:word|wd)?|secret|token|credential)[\w-]*=)[^\s"',;&]+/gi;
const SECRET_JSON = /("[\w-]*(?:pass(?:word|wd)?|secret|token|credential)[\w-]*"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;
const SECRET_YAML = /\b((?:[\w-]*_)?(?:password|passwd|secret)\s*:\s*)(?!\[redacted\])\S+/gi;
const SECRET_HEADER = /\b((?:x-auth-token|x-subject-token|authorization)\s*:\s*)(?:Bearer\s+|Basic\s+)?\S+/gi;
const FERNET = /gAAAAA[A-Za-z0-9_-]{20,}=*/g;
const STACK_LINE = /^\s*at\s.+$/;

/** `text` with secret-looking values replaced by [redacted]; lines kept (for log files). */
export function redactSecrets(text: string): string {
  return text
    .replace(SECRET_JSON, '$1"[redacted]"')
    .replace(SECRET_ASSIGN, '$1[redacted]')
    .replace(SECRET_YAML, '$1[redacted]')
    .replace(SECRET_HEADER, '$1[redacted]')
    .replace(FERNET, '[redacted]');
}

/** A stack for the log file: secrets redacted, and a parser error's quoting first line withheld. */
export function safeStack(e: Error): string {
  const stack = e.stack ?? '';
  if (!isParserError(e)) return redactSecrets(stack);
  const frames = stack.split('\n').filter((l) => STACK_LINE.test(l));
  return [withheldParserMessage(e), ...frames].join('\n');
}

/** Text fit for stdout: no secret-looking values, no stack frames, one bounded paragraph. */
export function safeText(text: string, max: number): string {
  const lines = text.split('\n').filter((l) => !STACK_LINE.test(l));
  const clean = redactSecrets(lines.join(' ')).replace(/\s+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/**
 * Whether `e` is a parser's error (JSON.parse's SyntaxError, the yaml package's YAMLParseError…):
 * their messages quote the input they choke on, and that input may be a credentials file or a
 * reply holding a secret. Never repeat their text anywhere.
 */
export function isParserError(e: unknown): boolean {
  return e instanceof SyntaxError || (e instanceof Error && /^YAML\w*(Error|Exception)$/.test(e.name));
}

/** A parser error's stand-in text: its kind only. */
export function withheldParserMessage(e: Error): string {
  return `${e.name} while parsing input (its text is withheld: it may quote the input)`;
}

function describe(value: unknown): string {
  if (isParserError(value)) return withheldParserMessage(value as Error);
  if (value instanceof Error) return value.message || value.name;
  try {
    return String(value);
  } catch {
    return 'an unprintable value';
  }
}

function causeChain(e: Error): string[] {
  const out: string[] = [];
  let c: unknown = e.cause;
  for (let depth = 0; c !== undefined && c !== null && depth < 4; depth++) {
    out.push(`cause: ${describe(c)}`);
    c = c instanceof Error ? c.cause : undefined;
  }
  return out;
}

function codeOf(e: unknown): number {
  // AbortSignal.timeout() and main.ts's deadline reject with a TimeoutError: transient.
  if (e instanceof Error && e.name === 'TimeoutError') return CniCode.TryAgainLater;
  if (!isNnetError(e)) return NnetCode.Internal;
  switch (e.domain) {
    case 'input':
      return INPUT[e.reason];
    case 'identity':
      return IDENTITY[e.reason];
    case 'neutron':
      return NEUTRON[e.reason];
    case 'store':
      return STORE[e.reason];
    case 'plug':
      return DEPLOY[e.reason];
  }
}

/**
 * Any thrown value → code, message and details for the error JSON. Unknown exceptions become 100
 * with their message. During STATUS every failure other than bad input means "cannot serve ADD"
 * (code 50); the STATUS verb reports 51 itself by returning it.
 */
export function toCniError(e: unknown, command?: CniCommand): CniFailure {
  let code = codeOf(e);
  if (command === 'STATUS' && !(isNnetError(e) && e.domain === 'input')) code = CniCode.PluginNotAvailable;
  const detailParts: string[] = [];
  let msg: string;
  if (e instanceof Error) {
    msg = isParserError(e) ? withheldParserMessage(e) : e.message || e.name;
    if (!isNnetError(e) && e.name !== 'TimeoutError') msg = `internal error: ${msg}`;
    if (isNnetError(e)) {
      if (e.domain === 'neutron' && (e.status !== undefined || e.neutronType))
        detailParts.push(
          `Neutron replied${e.status === undefined ? '' : ` HTTP ${e.status}`}${e.neutronType ? ` ${e.neutronType}` : ''}`,
        );
      if (e.details) detailParts.push(e.details);
      // Input messages say it all; elsewhere the domain and reason help tell failures apart.
      if (e.domain !== 'input') detailParts.push(`${e.domain} error: ${e.reason}`);
    }
    detailParts.push(...causeChain(e));
  } else {
    msg = `internal error: ${describe(e)}`;
  }
  const failure: CniFailure = { code, msg: safeText(msg, MSG_MAX) || 'internal error' };
  const details = safeText(detailParts.join('; '), DETAILS_MAX);
  if (details) failure.details = details;
  return failure;
}

export function errorJson(version: CniVersion, f: CniFailure): CniErrorJson {
  const e: CniErrorJson = { cniVersion: version, code: f.code, msg: f.msg };
  if (f.details !== undefined && f.details !== '') e.details = f.details;
  return e;
}
