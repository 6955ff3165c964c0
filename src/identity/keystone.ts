/** POST /v3/auth/tokens: one authentication against Keystone. */
import type { Agent } from 'node:https';
import { IdentityError } from '../errors/index.ts';
import { discard, formatBytes, MiB, readCapped } from '../http/index.ts';
import { type Catalog, parseCatalog } from './catalog.ts';
import {
  type Credentials,
  type DomainRef,
  describeCredentials,
  type ProjectRef,
  type Scope,
  type UserRef,
} from './credentials.ts';
import { describeTransportFailure, httpFetch, transportFailure } from './transport.ts';

/** An issued token with what came with it. `token` is a secret: never log or print it. */
export interface AuthState {
  token: string;
  expiresAt: Date;
  issuedAt: Date;
  catalog: Catalog;
  user: { id: string; name: string | undefined };
  /** The project the token is scoped to, if any. */
  project: { id: string; name: string | undefined; domainId: string | undefined } | undefined;
  /** The domain the token is scoped to (domain scope), if any. */
  domain: { id: string; name: string | undefined } | undefined;
}

function userBody(u: UserRef): Record<string, unknown> {
  return 'id' in u ? { id: u.id } : { name: u.name, domain: domainBody(u.domain) };
}
function domainBody(d: DomainRef): Record<string, unknown> {
  return 'id' in d ? { id: d.id } : { name: d.name };
}
function projectBody(p: ProjectRef): Record<string, unknown> {
  return 'id' in p ? { id: p.id } : { name: p.name, domain: domainBody(p.domain) };
}
function scopeBody(s: Scope): Record<string, unknown> {
  if ('project' in s) return { project: projectBody(s.project) };
  if ('domain' in s) return { domain: domainBody(s.domain) };
  return { system: { all: true } };
}

/** The JSON body of POST /v3/auth/tokens (holds the secret). */
export function authRequestBody(c: Credentials): unknown {
  if (c.method === 'application-credential') {
    const ac = c.applicationCredential;
    const cred =
      'id' in ac
        ? { id: ac.id, secret: ac.secret }
        : { name: ac.name, secret: ac.secret, user: userBody(ac.user) };
    return { auth: { identity: { methods: ['application_credential'], application_credential: cred } } };
  }
  const identity = {
    methods: ['password'],
    password: { user: { ...userBody(c.user), password: c.password } },
  };
  return { auth: c.scope ? { identity, scope: scopeBody(c.scope) } : { identity } };
}

/** Keystone's own error text (`{"error": {"message": …}}`); holds no secret. */
function keystoneMessage(body: string): string | undefined {
  try {
    const m = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    return typeof m === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

/** The token reply → AuthState (exported for the cache, which stores the same shape). */
export function parseTokenBody(token: string, body: unknown): AuthState | undefined {
  const t = (body as { token?: Record<string, unknown> } | undefined)?.token;
  if (!t || typeof t.expires_at !== 'string') return undefined;
  const expiresAt = new Date(t.expires_at);
  if (Number.isNaN(expiresAt.getTime())) return undefined;
  const issuedAt = typeof t.issued_at === 'string' ? new Date(t.issued_at) : new Date();
  const user = t.user as { id?: unknown; name?: unknown } | undefined;
  const project = t.project as { id?: unknown; name?: unknown; domain?: { id?: unknown } } | undefined;
  const domain = t.domain as { id?: unknown; name?: unknown } | undefined;
  return {
    token,
    expiresAt,
    issuedAt,
    catalog: parseCatalog(t.catalog),
    user: { id: String(user?.id ?? ''), name: typeof user?.name === 'string' ? user.name : undefined },
    project:
      project && typeof project.id === 'string'
        ? {
            id: project.id,
            name: typeof project.name === 'string' ? project.name : undefined,
            domainId: typeof project.domain?.id === 'string' ? project.domain.id : undefined,
          }
        : undefined,
    domain:
      domain && typeof domain.id === 'string'
        ? { id: domain.id, name: typeof domain.name === 'string' ? domain.name : undefined }
        : undefined,
  };
}

export interface IssueOptions {
  timeoutMs?: number;
  userAgent?: string;
  /** The credentials' TLS settings (tlsAgent()). */
  agent?: Agent | undefined;
}

/**
 * The largest Keystone reply read. A token reply carries the whole service catalog: a large
 * public cloud's (tens of services × 3 interfaces × tens of regions, ~250 bytes an endpoint) is
 * well under 1 MiB; 8 MiB leaves room for any real one and stops a runaway reply early.
 */
export const KEYSTONE_REPLY_CAP = 8 * MiB;

export function keystoneTooLarge(authUrl: string, what: string): IdentityError {
  return new IdentityError(
    'too-large',
    `Keystone at ${authUrl} sent a reply to ${what} larger than N-Net's cap of ${formatBytes(KEYSTONE_REPLY_CAP)}; it was not read further`,
  );
}

/** The IdentityError of a failed TLS handshake with Keystone (configuration; never retried). */
export function keystoneTlsError(authUrl: string, why: string, source: string): IdentityError {
  return new IdentityError(
    'tls',
    `TLS with Keystone at ${authUrl} failed: ${why}; check cacert, cert/key and verify/insecure in ${source}`,
  );
}

/**
 * Authenticates once. 401/400/403/404 → IdentityError('rejected') naming the user and Keystone URL;
 * 5xx or no connection → 'unreachable'. The secret is in the request body only.
 */
export async function issueToken(c: Credentials, opts: IssueOptions = {}): Promise<AuthState> {
  const url = `${c.authUrl}/auth/tokens`;
  const who = describeCredentials(c);
  let res: Response;
  let text: string;
  try {
    res = await httpFetch(
      url,
      { method: 'POST', body: authRequestBody(c), timeoutMs: opts.timeoutMs ?? 15_000, agent: opts.agent },
      opts.userAgent,
    );
    text = await readCapped(res, KEYSTONE_REPLY_CAP, () => keystoneTooLarge(c.authUrl, 'POST /auth/tokens'));
  } catch (e) {
    if (e instanceof IdentityError) throw e;
    const f = transportFailure(e);
    if (!f) throw e;
    if (f.kind === 'tls') throw keystoneTlsError(c.authUrl, f.why ?? f.code, c.source);
    // No cause: the request (and so the error's properties) carried the secret.
    throw new IdentityError(
      'unreachable',
      `Keystone at ${c.authUrl} is unreachable: ${describeTransportFailure(f)}`,
      {
        details: `authenticating ${who}`,
      },
    );
  }
  if (res.status === 201 || res.status === 200) {
    const token = res.headers.get('x-subject-token');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const state = token ? parseTokenBody(token, body) : undefined;
    if (!state)
      throw new IdentityError(
        'unreachable',
        `Keystone at ${c.authUrl} returned an unusable token reply for ${who}`,
      );
    return state;
  }
  const ksMessage = keystoneMessage(text);
  if (res.status >= 500)
    throw new IdentityError(
      'unreachable',
      `Keystone at ${c.authUrl} failed with HTTP ${res.status} while authenticating ${who}`,
      {
        details: ksMessage,
      },
    );
  throw new IdentityError(
    'rejected',
    `Keystone at ${c.authUrl} rejected the credentials of ${who} (from ${c.source}): HTTP ${res.status}${ksMessage ? ` ${ksMessage}` : ''}`,
    { details: ksMessage },
  );
}

/** DELETE /v3/auth/tokens: revokes `subject` (authorised by `auth`, which may be the same token). */
export async function revokeToken(
  authUrl: string,
  auth: string,
  subject: string,
  timeoutMs = 15_000,
  agent?: Agent,
): Promise<void> {
  const res = await httpFetch(`${authUrl}/auth/tokens`, {
    method: 'DELETE',
    headers: { 'x-auth-token': auth, 'x-subject-token': subject },
    timeoutMs,
    agent,
  });
  await discard(res);
  if (res.status !== 204 && res.status !== 404)
    throw new IdentityError(
      'unreachable',
      `Keystone at ${authUrl} could not revoke a token: HTTP ${res.status}`,
    );
}
