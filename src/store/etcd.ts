/**
 * The etcd v3 backend, spoken over etcd's JSON gateway with fetch (no gRPC stack: the CNI plugin
 * must start fast). Keys and values travel base64-encoded; int64s travel as strings.
 *
 * Key layout under the prefix (default /nnet), each key part percent-encoded:
 *   <prefix>/schema                                  schema version, decimal
 *   <prefix>/clusters/<name>
 *   <prefix>/resources/<kind>/<id>
 *   <prefix>/pod_configs/<cluster>/<namespace>/<pod>
 *   <prefix>/attachments/<containerId>/<ifname>
 * Values are the records' JSON.
 */

import { readFileSync, type Stats, statSync } from 'node:fs';
import type { Agent } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { InputError, StoreError } from '../errors/index.ts';
import { discard, formatBytes, MiB, readCapped, send, tlsAgent, tlsFailureOf } from '../http/index.ts';
import type { Logger } from '../log/index.ts';
import type { Backend, Row, RowFilter, RowWrite } from './backend.ts';
import { describeKey } from './codec.ts';
import { latestVersion, pendingMigrations, type Versioned } from './migrate.ts';
import type { AnyTable } from './types.ts';
import type { EtcdAuth, EtcdTls } from './url.ts';

export const DEFAULT_ETCD_TIMEOUT_MS = 2000;
const CAS_ATTEMPTS = 50;
const PAGE = 500;

// ---- key layout -------------------------------------------------------------------------------

export const schemaKey = (prefix: string) => `${prefix}/schema`;

export function rowKey(prefix: string, table: AnyTable, key: readonly string[]): string {
  return [prefix, table.name, ...key.map(encodeURIComponent)].join('/');
}

/** The key parts of a row key under `prefix`/`table`, or undefined if it is not one. */
export function parseRowKey(prefix: string, table: AnyTable, etcdKey: string): string[] | undefined {
  const head = `${prefix}/${table.name}/`;
  if (!etcdKey.startsWith(head)) return undefined;
  const parts = etcdKey.slice(head.length).split('/');
  if (parts.length !== table.keyFields.length) return undefined;
  try {
    return parts.map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

/** The smallest key greater than every key that starts with `prefix` (etcd's range_end). */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all 0xff: to the end of the keyspace
}

// ---- the JSON gateway ------------------------------------------------------------------------

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

const kvSchema = z.object({
  key: z.string(),
  value: z.string().optional(), // proto3 JSON omits empty values
  create_revision: z.string().optional(),
  mod_revision: z.string().optional(),
});
const rangeReply = z.object({
  kvs: z.array(kvSchema).optional(),
  more: z.boolean().optional(),
  count: z.string().optional(),
});
const txnReply = z.object({
  succeeded: z.boolean().optional(),
  responses: z.array(z.object({ response_range: rangeReply.optional() }).loose()).optional(),
});
const deleteReply = z.object({ deleted: z.string().optional() });
const errorReply = z.object({ code: z.number().optional(), message: z.string().optional() }).loose();
const authReply = z.object({ token: z.string().min(1) }).loose();

type Kv = z.infer<typeof kvSchema>;
type Compare =
  | { key: string; target: 'CREATE'; result: 'EQUAL'; create_revision: string }
  | { key: string; target: 'MOD'; result: 'EQUAL'; mod_revision: string };
type TxnOp =
  | { request_put: { key: string; value: string } }
  | { request_delete_range: { key: string; range_end?: string } }
  | { request_range: { key: string } };

export interface EtcdReply<T> {
  body: T;
  /** A previous attempt may have reached etcd before failing (timeout, 5xx). */
  retried: boolean;
}

// Errors where the request cannot have reached etcd.
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);
// gRPC codes that mean "this member cannot serve now": Unavailable, DeadlineExceeded.
const TRY_ELSEWHERE = new Set([14, 4]);
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAUTHENTICATED = 16;
const GRPC_FAILED_PRECONDITION = 9;

/**
 * The largest etcd reply read. N-Net reads ranges in pages of 500 keys of records of a few KiB
 * (base64 in JSON: ×4/3), i.e. a few MiB a page; 32 MiB leaves room for records far larger and
 * stops a runaway reply (a proxy, a foreign value) before it costs the process its memory.
 */
export const ETCD_REPLY_CAP = 32 * MiB;

/** How the gateway authenticates: a user and its password (read from a file), or a fixed token. */
export type EtcdCredentials =
  | { user: string; password: string; from: string }
  | { token: string; from: string };

export interface EtcdGatewayOptions {
  timeoutMs?: number;
  /** TLS settings of every endpoint (tlsAgent()); undefined = system CAs. */
  agent?: Agent | undefined;
  credentials?: EtcdCredentials | undefined;
  /** How long a cluster whose every endpoint failed is tried again (default CLUSTER_GRACE_MS). */
  graceMs?: number | undefined;
}

/** An etcd leader election takes 1–2 s at etcd's default 1 s election timeout. */
export const CLUSTER_GRACE_MS = 5000;

type Exchange =
  | { kind: 'reply'; status: number; json: unknown; text: string }
  | { kind: 'failed'; why: string; sent: boolean; tls: boolean };

/**
 * A client for etcd's gRPC gateway. Tries the endpoints in order, starting with the last one that
 * answered; each request has `timeoutMs`. A member that is down, times out, answers 5xx or fails
 * the TLS handshake is skipped for the next. etcd 3.3 serves the gateway under /v3beta, 3.4
 * under both /v3 and /v3beta, 3.5+ under /v3 only: start with /v3 and fall back on a 404.
 * With a user and password it authenticates (POST auth/authenticate) before its first request
 * and again when a member calls the token invalid (expired, or the auth store changed); the token
 * travels in the Authorization header.
 */
export class EtcdGateway {
  private readonly bases: string[];
  private preferred = 0;
  private readonly timeoutMs: number;
  private readonly agent: Agent | undefined;
  private readonly credentials: EtcdCredentials | undefined;
  private token: string | undefined;
  private readonly graceMs: number;
  /** Authentications done (for tests: a re-authentication after the token expired). */
  authentications = 0;
  /** Rounds over every endpoint that all failed and were tried again (for tests and logs). */
  rounds = 0;

  constructor(
    readonly endpoints: readonly string[],
    options: EtcdGatewayOptions | number = {},
  ) {
    if (endpoints.length === 0) throw new Error('etcd: no endpoints');
    const o = typeof options === 'number' ? { timeoutMs: options } : options;
    this.timeoutMs = o.timeoutMs ?? DEFAULT_ETCD_TIMEOUT_MS;
    this.graceMs = o.graceMs ?? CLUSTER_GRACE_MS;
    this.agent = o.agent;
    this.credentials = o.credentials;
    if (o.credentials && 'token' in o.credentials) this.token = o.credentials.token;
    this.bases = endpoints.map((e) => `${e}/v3`);
  }

  /**
   * One request, to the first endpoint that serves it. When every endpoint of a cluster failed
   * (a member killed and a leader election under way: the others answer "no leader" or time out
   * for a second or two), all are tried again after 250 ms, 500 ms, … for up to `graceMs`. TLS
   * failures on every endpoint are configuration, and auth or request refusals are answers:
   * neither is tried again.
   */
  async call<T>(path: string, body: unknown, schema: z.ZodType<T>): Promise<EtcdReply<T>> {
    const started = Date.now();
    let retried = false;
    for (let pause = 250; ; pause *= 2) {
      const round = await this.round(path, body, schema);
      retried ||= round.retried;
      if ('body' in round) return { body: round.body, retried };
      if (round.allTls)
        throw new StoreError(
          'tls',
          `TLS with etcd failed on every endpoint: ${round.failures.join('; ')}; check cacert, cert and key in the store URL`,
        );
      if (this.endpoints.length < 2 || Date.now() - started + pause > this.graceMs)
        throw new StoreError('unavailable', `etcd unreachable: ${round.failures.join('; ')}`);
      this.rounds += 1;
      await sleep(pause);
    }
  }

  private async round<T>(
    path: string,
    body: unknown,
    schema: z.ZodType<T>,
  ): Promise<{ body: T; retried: boolean } | { failures: string[]; retried: boolean; allTls: boolean }> {
    const failures: string[] = [];
    let retried = false;
    let allTls = true;
    for (let n = 0; n < this.endpoints.length; n++) {
      const i = (this.preferred + n) % this.endpoints.length;
      const endpoint = this.endpoints[i]!;
      const x = await this.authorized(i, path, body);
      if (x.kind === 'failed') {
        failures.push(`${endpoint} (${x.why})`);
        retried ||= x.sent;
        allTls &&= x.tls;
        continue;
      }
      allTls = false;
      if (x.status < 200 || x.status >= 300) {
        const err = errorReply.safeParse(x.json);
        if (!err.success || err.data.code === undefined) {
          // Not etcd's gateway answering (a proxy, another service, an etcd without it).
          failures.push(
            `${endpoint} (HTTP ${x.status} on ${this.bases[i]}/${path}: not an etcd v3 JSON gateway)`,
          );
          retried ||= x.status >= 500;
          continue;
        }
        const message = err.data.message ?? `HTTP ${x.status}`;
        if (x.status >= 500 || TRY_ELSEWHERE.has(err.data.code)) {
          failures.push(`${endpoint} (${message})`);
          retried = true;
          continue;
        }
        throw this.refusal(endpoint, path, err.data.code, message);
      }
      const parsed = schema.safeParse(x.json);
      if (!parsed.success) {
        failures.push(`${endpoint} (an unexpected reply to ${path}: not an etcd v3 JSON gateway)`);
        retried = true;
        continue;
      }
      this.preferred = i;
      return { body: parsed.data, retried };
    }
    return { failures, retried, allTls };
  }

  /** One request on endpoint i with a valid token: authenticates first, and once more if it went stale. */
  private async authorized(i: number, path: string, body: unknown): Promise<Exchange> {
    const c = this.credentials;
    if (c && 'password' in c && this.token === undefined) {
      const failed = await this.authenticate(i, c);
      if (failed) return failed;
    }
    const x = await this.exchange(i, path, body);
    if (x.kind !== 'reply' || !isStaleToken(x) || !c || !('password' in c)) return x;
    this.token = undefined;
    const failed = await this.authenticate(i, c);
    return failed ?? this.exchange(i, path, body);
  }

  /** Gets a token from endpoint i; a transport failure is returned (try the next member). */
  private async authenticate(
    i: number,
    c: { user: string; password: string; from: string },
  ): Promise<Exchange | undefined> {
    const endpoint = this.endpoints[i]!;
    const x = await this.exchange(i, 'auth/authenticate', { name: c.user, password: c.password }, false);
    if (x.kind === 'failed') return x;
    const ok = x.status >= 200 && x.status < 300 ? authReply.safeParse(x.json) : undefined;
    if (ok?.success) {
      this.token = ok.data.token;
      this.authentications += 1;
      return undefined;
    }
    const err = errorReply.safeParse(x.json);
    if (x.status >= 500 || (err.success && err.data.code !== undefined && TRY_ELSEWHERE.has(err.data.code)))
      return { kind: 'failed', why: err.data?.message ?? `HTTP ${x.status}`, sent: true, tls: false };
    const message =
      (err.success && err.data.message) || `HTTP ${x.status}${json(x) ? '' : ` ${oneLine(x.text)}`}`;
    if (err.success && err.data.code === GRPC_FAILED_PRECONDITION)
      throw new StoreError(
        'rejected',
        `etcd ${endpoint} has authentication disabled (${message}), but the store URL gives user "${c.user}": enable auth in etcd or drop user= and password-file=`,
      );
    throw new StoreError(
      'rejected',
      `etcd ${endpoint} rejected user "${c.user}" with the password from ${c.from}: ${message}`,
    );
  }

  /** A reply refused for who we are (auth) or what we asked (anything else): never tried elsewhere. */
  private refusal(endpoint: string, path: string, code: number, message: string): StoreError {
    const c = this.credentials;
    const authProblem =
      code === GRPC_PERMISSION_DENIED ||
      code === GRPC_UNAUTHENTICATED ||
      /user name is empty|invalid auth token|auth store is old/.test(message);
    if (!c && authProblem)
      return new StoreError(
        'rejected',
        `etcd ${endpoint} requires authentication (${message} on ${path}): give user= and password-file= (or token-file=) in the store URL`,
      );
    const who = !c ? 'no etcd user' : 'user' in c ? `user "${c.user}"` : `the token from ${c.from}`;
    if (code === GRPC_PERMISSION_DENIED)
      return new StoreError(
        'rejected',
        `etcd ${endpoint} refused ${path} for ${who}: ${message} (its role needs readwrite on the store's prefix)`,
      );
    if (authProblem)
      return new StoreError('rejected', `etcd ${endpoint} refused ${path} for ${who}: ${message}`);
    return new StoreError('unavailable', `etcd ${endpoint} refused ${path}: ${message}`);
  }

  /** One POST (with the /v3beta fallback) and its bounded, parsed reply; transport failures as data. */
  private async exchange(i: number, path: string, body: unknown, withToken = true): Promise<Exchange> {
    const endpoint = this.endpoints[i]!;
    let res: Response;
    let text: string;
    try {
      res = await this.post(i, path, body, withToken);
      if (res.status === 404 && this.bases[i]!.endsWith('/v3')) {
        await discard(res);
        this.bases[i] = `${endpoint}/v3beta`;
        res = await this.post(i, path, body, withToken);
      }
      text = await readCapped(
        res,
        ETCD_REPLY_CAP,
        () =>
          new StoreError(
            'too-large',
            `etcd ${endpoint} sent a reply to ${path} larger than N-Net's cap of ${formatBytes(ETCD_REPLY_CAP)}; it was not read further`,
          ),
      );
    } catch (e) {
      if (e instanceof StoreError) throw e;
      return { kind: 'failed', ...describeFetchError(e, this.timeoutMs) };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { kind: 'reply', status: res.status, json, text: text.slice(0, 200) };
  }

  private post(i: number, path: string, body: unknown, withToken: boolean): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (withToken && this.token !== undefined) headers.authorization = this.token;
    return send(
      `${this.bases[i]}/${path}`,
      { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs) },
      this.agent,
    );
  }

  async get(key: string): Promise<Kv | undefined> {
    const { body } = await this.call('kv/range', { key: b64(key) }, rangeReply);
    return body.kvs?.[0];
  }

  /** Every key-value whose key starts with `prefix`, in key order, fetched in pages. */
  async scan(prefix: string): Promise<Kv[]> {
    const out: Kv[] = [];
    const end = b64(prefixEnd(prefix));
    let from = b64(prefix);
    for (;;) {
      const { body } = await this.call(
        'kv/range',
        { key: from, range_end: end, limit: String(PAGE) },
        rangeReply,
      );
      const kvs = body.kvs ?? [];
      out.push(...kvs);
      if (!body.more || kvs.length === 0) return out;
      from = b64(Buffer.concat([Buffer.from(kvs.at(-1)!.key, 'base64'), Buffer.from([0])]));
    }
  }

  txn(compare: Compare[], success: TxnOp[], failure: TxnOp[]) {
    return this.call('kv/txn', { compare, success, failure }, txnReply);
  }

  async deleteKey(key: string): Promise<number> {
    const { body } = await this.call('kv/deleterange', { key: b64(key) }, deleteReply);
    return Number(body.deleted ?? '0');
  }
}

const json = (x: { json: unknown }) => x.json !== undefined;
const oneLine = (t: string) => t.replace(/\s+/g, ' ').trim();

function isStaleToken(x: { status: number; json: unknown }): boolean {
  const err = errorReply.safeParse(x.json);
  if (!err.success) return false;
  return (
    err.data.code === GRPC_UNAUTHENTICATED ||
    /invalid auth token|auth store is old/.test(err.data.message ?? '')
  );
}

function describeFetchError(e: unknown, timeoutMs: number): { why: string; sent: boolean; tls: boolean } {
  const name = (e as Error).name;
  if (name === 'TimeoutError' || name === 'AbortError')
    return { why: `no answer within ${timeoutMs} ms`, sent: true, tls: false };
  const tls = tlsFailureOf(e);
  if (tls) return { why: `TLS handshake failed: ${tls.why}`, sent: false, tls: true };
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  if (code && NOT_SENT.has(code))
    return { why: code === 'ECONNREFUSED' ? 'connection refused' : code, sent: false, tls: false };
  return { why: code ?? cause?.message ?? (e as Error).message, sent: true, tls: false };
}

// ---- migrations ------------------------------------------------------------------------------

export type EtcdOp = { put: string; value: string } | { delete: string };

export interface EtcdMigration extends Versioned {
  /**
   * The writes that take the data from the previous version to this one. They are applied in one
   * txn together with the new schema version, guarded by the schema key's revision, so at most
   * one process applies them. (A txn holds at most 128 operations by default.)
   */
  plan(gateway: EtcdGateway, prefix: string): Promise<EtcdOp[]>;
}

/** Released migrations: append only, never edit. */
export const ETCD_MIGRATIONS: readonly EtcdMigration[] = [
  {
    version: 1,
    description: 'clusters, managed resources, pod network configs, attachments',
    plan: async () => [], // etcd has no tables to create
  },
  {
    version: 2,
    description: "nodes: each node's own ports on the pod networks",
    plan: async () => [],
  },
];

export async function migrateEtcd(
  gateway: EtcdGateway,
  prefix: string,
  migrations: readonly EtcdMigration[],
  location: string,
  logger?: Logger,
): Promise<void> {
  const key = schemaKey(prefix);
  for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
    const kv = await gateway.get(key);
    const raw = kv ? unb64(kv.value) : '0';
    if (!/^\d+$/.test(raw))
      throw new StoreError(
        'corrupt',
        `store ${location}: ${key} holds "${raw.slice(0, 20)}", not a schema version`,
      );
    const from = Number(raw);
    const pending = pendingMigrations(from, migrations, location);
    if (pending.length === 0) return;
    const ops: EtcdOp[] = [];
    for (const m of pending) ops.push(...(await m.plan(gateway, prefix)));
    const to = latestVersion(migrations);
    const guard: Compare = kv
      ? { key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: kv.mod_revision ?? '0' }
      : { key: b64(key), target: 'CREATE', result: 'EQUAL', create_revision: '0' };
    const writes: TxnOp[] = ops.map((op) =>
      'put' in op
        ? { request_put: { key: b64(op.put), value: b64(op.value) } }
        : { request_delete_range: { key: b64(op.delete) } },
    );
    writes.push({ request_put: { key: b64(key), value: b64(String(to)) } });
    const { body } = await gateway.txn([guard], writes, []);
    if (body.succeeded) {
      logger?.info('store schema migrated', { store: location, from, to });
      return;
    }
    // Another process migrated (or began to) meanwhile: look again.
  }
  throw new StoreError('conflict', `store ${location}: schema migration kept losing to concurrent writers`);
}

// ---- the backend -----------------------------------------------------------------------------

export interface EtcdOptions {
  timeoutMs?: number;
  logger?: Logger | undefined;
  /** For tests of the migration machinery. */
  migrations?: readonly EtcdMigration[];
  /** Client TLS (the store URL's cacert, cert, key). */
  tls?: EtcdTls | undefined;
  /** Authentication (the store URL's user + password-file, or token-file). */
  auth?: EtcdAuth | undefined;
}

/**
 * The secret in `file`, which only its owner may read or write (mode 0600 or stricter, as ssh
 * wants of a key): a looser file is refused, naming the file and its mode, never its content.
 * One trailing newline is dropped.
 */
export function readSecretFile(file: string, what: string): string {
  let st: Stats;
  let text: string;
  try {
    st = statSync(file);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(
      'invalid-config',
      `the etcd ${what} file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  if (!st.isFile()) throw new InputError('invalid-config', `the etcd ${what} file ${file} is not a file`);
  const mode = st.mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new InputError(
      'invalid-config',
      `the etcd ${what} file ${file} has mode ${mode.toString(8).padStart(4, '0')}: it holds a secret, so group and others must not read it (chmod 600 ${file})`,
    );
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '' || /[\r\n]/.test(secret))
    throw new InputError('invalid-config', `the etcd ${what} file ${file} must hold one line`);
  return secret;
}

function etcdCredentials(auth: EtcdAuth | undefined): EtcdCredentials | undefined {
  if (!auth) return undefined;
  if ('tokenFile' in auth) return { token: readSecretFile(auth.tokenFile, 'token'), from: auth.tokenFile };
  return {
    user: auth.user,
    password: readSecretFile(auth.passwordFile, 'password'),
    from: auth.passwordFile,
  };
}

export async function openEtcd(
  endpoints: string[],
  prefix: string,
  options: EtcdOptions = {},
): Promise<Backend> {
  const location = `etcd:${endpoints.join(',')}?prefix=${prefix}`;
  const gateway = new EtcdGateway(endpoints, {
    timeoutMs: options.timeoutMs,
    agent: options.tls ? tlsAgent({ ...options.tls, verify: true }, `store ${location}`) : undefined,
    credentials: etcdCredentials(options.auth),
  });
  await migrateEtcd(gateway, prefix, options.migrations ?? ETCD_MIGRATIONS, location, options.logger);

  return {
    location,
    async get(t, key) {
      const kv = await gateway.get(rowKey(prefix, t, key));
      return kv ? unb64(kv.value) : undefined;
    },
    async list(t, filter: RowFilter): Promise<Row[]> {
      // Filters on a leading run of key fields narrow the scan; the store filters the rest.
      const lead: string[] = [];
      for (const f of t.keyFields) {
        const v = filter[f];
        if (v === undefined) break;
        lead.push(v);
      }
      const scanPrefix = `${[prefix, t.name, ...lead.map(encodeURIComponent)].join('/')}/`;
      const rows: Row[] = [];
      for (const kv of await gateway.scan(scanPrefix)) {
        const etcdKey = unb64(kv.key);
        const key = parseRowKey(prefix, t, etcdKey);
        if (!key)
          throw new StoreError(
            'corrupt',
            `store ${location}: unexpected key ${JSON.stringify(etcdKey)} in ${t.name}`,
          );
        rows.push({ key, data: unb64(kv.value) });
      }
      return rows;
    },
    async insert(t, key, row: RowWrite) {
      const k = b64(rowKey(prefix, t, key));
      const value = b64(row.data);
      const { body, retried } = await gateway.txn(
        [{ key: k, target: 'CREATE', result: 'EQUAL', create_revision: '0' }],
        [{ request_put: { key: k, value } }],
        [{ request_range: { key: k } }],
      );
      if (body.succeeded) return;
      // A retried request may have been applied by the attempt that timed out: then the row
      // holds exactly our bytes (records carry a millisecond timestamp) and the create is ours.
      const existing = body.responses?.[0]?.response_range?.kvs?.[0];
      if (retried && existing?.value === value) return;
      throw new StoreError('conflict', `store ${location}: ${describeKey(t, key)} already exists`);
    },
    async update(t, key, fn) {
      const k = b64(rowKey(prefix, t, key));
      let current = await gateway.get(rowKey(prefix, t, key));
      for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        const data = current ? unb64(current.value) : undefined;
        const row = fn(data);
        if (!row) return data;
        const guard: Compare = current
          ? { key: k, target: 'MOD', result: 'EQUAL', mod_revision: current.mod_revision ?? '0' }
          : { key: k, target: 'CREATE', result: 'EQUAL', create_revision: '0' };
        const { body } = await gateway.txn(
          [guard],
          [{ request_put: { key: k, value: b64(row.data) } }],
          [{ request_range: { key: k } }],
        );
        if (body.succeeded) return row.data;
        current = body.responses?.[0]?.response_range?.kvs?.[0];
        // Spread out writers that collide on one key so that one of them gets through.
        await sleep(Math.random() * Math.min(100, 5 * 2 ** Math.min(attempt, 5)));
      }
      throw new StoreError(
        'conflict',
        `store ${location}: ${describeKey(t, key)} kept changing; gave up after ${CAS_ATTEMPTS} attempts`,
      );
    },
    async delete(t, key) {
      return (await gateway.deleteKey(rowKey(prefix, t, key))) > 0;
    },
    async close() {},
  };
}
