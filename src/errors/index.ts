/**
 * One error type per failure domain. Each carries a `reason` (what went wrong inside the domain)
 * and the object it concerns in its message. They are mapped to CNI error codes in exactly one
 * place (`src/cni/errors.ts`) and to CLI exit codes in exactly one place (`src/cli/exit.ts`).
 * Messages never contain secrets.
 */

export interface ErrorOptions {
  cause?: unknown;
  /** Extra detail for the CNI `details` field / CLI verbose output. Must hold no secret. */
  details?: string;
}

abstract class NnetError extends Error {
  abstract readonly domain: string;
  readonly details: string | undefined;
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details;
  }
  override get name(): string {
    return this.constructor.name;
  }
}

/** Bad input at an edge: CNI stdin/env, CLI flags, config files. */
export type InputReason =
  | 'decode' // not parseable at all (not JSON, not YAML)
  | 'invalid-config' // parseable but wrong (missing/mistyped field, bad CIDR…)
  | 'invalid-env' // missing or bad CNI_* variables
  | 'unsupported-version' // cniVersion this plugin does not speak
  | 'io' // reading the input failed (CNI stdin, a config file)
  | 'invalid-argument'; // a CLI argument or flag
export class InputError extends NnetError {
  readonly domain = 'input';
  constructor(
    readonly reason: InputReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Keystone: credentials rejected, Keystone unreachable, no usable endpoint in the catalog, a TLS
 * handshake that failed (untrusted or mismatched certificate: configuration, never retried), a
 * reply over N-Net's size cap.
 */
export type IdentityReason =
  | 'rejected'
  | 'unreachable'
  | 'no-endpoint'
  | 'no-credentials'
  | 'tls'
  | 'too-large';
export class IdentityError extends NnetError {
  readonly domain = 'identity';
  constructor(
    readonly reason: IdentityReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
  get retryable(): boolean {
    return this.reason === 'unreachable';
  }
}

/** Neutron API failures, classified from the HTTP status and the NeutronError body. */
export type NeutronReason =
  | 'ip-taken' // IpAddressAlreadyAllocated
  | 'conflict' // other 409s
  | 'not-found'
  | 'bad-request'
  | 'forbidden'
  | 'over-quota'
  | 'bad-reply' // a reply whose content makes no sense (a malformed address, route or id)
  | 'refused' // N-Net will not act on it: not its cluster's, or another device's
  | 'tls' // the TLS handshake failed: an untrusted or mismatched certificate (configuration)
  | 'too-large' // a reply over N-Net's size cap (not read further)
  | 'unavailable'; // 5xx, connection refused, timeout: retryable
export class NeutronError extends NnetError {
  readonly domain = 'neutron';
  constructor(
    readonly reason: NeutronReason,
    message: string,
    options: ErrorOptions & { status?: number; neutronType?: string } = {},
  ) {
    super(message, options);
    this.status = options.status;
    this.neutronType = options.neutronType;
  }
  readonly status: number | undefined;
  readonly neutronType: string | undefined;
  get retryable(): boolean {
    return this.reason === 'unavailable';
  }
}

/** N-Net's own database. */
export type StoreReason =
  | 'unavailable' // etcd down, SQLite locked past the timeout
  | 'conflict' // compare-and-swap lost, unique row exists
  | 'corrupt' // not a database / bad schema / undecodable row
  | 'not-found'
  | 'not-registered' // no cluster record for this cluster
  | 'rejected' // etcd refused N-Net's user, password, token or permission on the prefix
  | 'tls' // the TLS handshake with etcd failed on every endpoint (configuration)
  | 'too-large'; // an etcd reply over N-Net's size cap (not read further)
export class StoreError extends NnetError {
  readonly domain = 'store';
  constructor(
    readonly reason: StoreReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
  get retryable(): boolean {
    return this.reason === 'unavailable';
  }
}

/** Plugging into the pod: namespaces, links, addresses, routes, OVSDB. */
export type PlugReason =
  | 'netns-missing' // the pod's network namespace does not exist
  | 'ovs-unavailable' // cannot reach ovsdb-server / the bridge is missing
  | 'link' // a link/address/route operation failed
  | 'check-failed'; // CHECK found something not as recorded
export class PlugError extends NnetError {
  readonly domain = 'plug';
  constructor(
    readonly reason: PlugReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
  get retryable(): boolean {
    return this.reason === 'ovs-unavailable';
  }
}

export type AnyNnetError = InputError | IdentityError | NeutronError | StoreError | PlugError;

export function isNnetError(e: unknown): e is AnyNnetError {
  return (
    e instanceof InputError ||
    e instanceof IdentityError ||
    e instanceof NeutronError ||
    e instanceof StoreError ||
    e instanceof PlugError
  );
}
