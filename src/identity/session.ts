/**
 * A Keystone session: a token reused from memory or the on-disk cache until shortly before it
 * expires, the catalog that came with it, and authenticated requests that re-authenticate once
 * when a service answers 401 (token revoked, expired, or otherwise invalid).
 */
import type { Agent } from 'node:https';
import { IdentityError, InputError } from '../errors/index.ts';
import { discard, tlsAgent } from '../http/index.ts';
import { type Logger, silentLogger } from '../log/index.ts';
import {
  cacheFile,
  DEFAULT_TOKEN_CACHE_DIR,
  dropCache,
  readCache,
  secureCacheDir,
  writeCache,
} from './cache.ts';
import { type EndpointOptions, findEndpoint } from './catalog.ts';
import { type Credentials, describeCredentials } from './credentials.ts';
import { type AuthState, issueToken } from './keystone.ts';
import { type HttpOptions, httpFetch, USER_AGENT } from './transport.ts';

export interface SessionOptions {
  /** Token cache directory; null disables the on-disk cache. Default /var/lib/nnet/tokens. */
  cacheDir?: string | null;
  /** A token is not reused within this margin of its expiry. Default 5 min. */
  expiryMarginMs?: number;
  /** Timeout of each Keystone request. Default 15 s. */
  authTimeoutMs?: number;
  /** Extra attempts when Keystone is unreachable or answers 5xx. Default 2. */
  authRetries?: number;
  logger?: Logger;
  userAgent?: string;
}

/** Where this session's current token came from (for tests and debug logs). */
export type TokenSource = 'cache' | 'keystone';

export interface RequestOptions extends HttpOptions {
  /** Do not re-authenticate on 401 (the 401 response is returned as is). */
  noReauth?: boolean;
}

export class Session {
  readonly credentials: Credentials;
  private readonly cacheDir: string | null;
  private readonly margin: number;
  private readonly authTimeoutMs: number;
  private readonly authRetries: number;
  private readonly log: Logger;
  private readonly userAgent: string;
  private state: AuthState | undefined;
  private pending: Promise<AuthState> | undefined;
  /** A token a service rejected: never taken from the cache again by this session. */
  private rejected = new Set<string>();
  private issuedCount = 0;
  private tokenSource: TokenSource | undefined;
  private tlsAgentMade = false;
  private agentOfTls: Agent | undefined;

  constructor(credentials: Credentials, opts: SessionOptions = {}) {
    this.credentials = credentials;
    this.cacheDir = opts.cacheDir === undefined ? DEFAULT_TOKEN_CACHE_DIR : opts.cacheDir;
    this.margin = opts.expiryMarginMs ?? 5 * 60_000;
    this.authTimeoutMs = opts.authTimeoutMs ?? 15_000;
    this.authRetries = opts.authRetries ?? 2;
    this.log = (opts.logger ?? silentLogger).child({ component: 'identity' });
    this.userAgent = opts.userAgent ?? USER_AGENT;
  }

  /** Number of tokens this session obtained from Keystone itself (not from the cache). */
  get issued(): number {
    return this.issuedCount;
  }

  /** Where the current token came from. */
  get source(): TokenSource | undefined {
    return this.tokenSource;
  }

  /** The token and what came with it; authenticates only when nothing fresh is at hand. */
  auth(): Promise<AuthState> {
    if (this.state && this.fresh(this.state)) return Promise.resolve(this.state);
    this.pending ??= this.load().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** A token for X-Auth-Token (a secret). */
  async token(): Promise<string> {
    return (await this.auth()).token;
  }

  /**
   * The endpoint URL of a service type (e.g. 'network'), without a trailing slash. A catalog that
   * came from the token cache may predate the endpoint (it was added since): then a token is
   * issued once more for a fresh catalog before the lookup fails.
   */
  async endpoint(serviceType: string, opts: EndpointOptions = {}): Promise<string> {
    const find = (s: AuthState) =>
      findEndpoint(s.catalog, serviceType, {
        interface: opts.interface ?? this.credentials.interface,
        region: 'region' in opts ? opts.region : this.credentials.regionName,
      });
    const s = await this.auth();
    try {
      return find(s);
    } catch (e) {
      if (!(e instanceof IdentityError && e.reason === 'no-endpoint') || this.tokenSource !== 'cache')
        throw e;
      this.log.info('no such endpoint in the cached catalog; authenticating for a fresh one', {
        serviceType,
      });
      this.state = undefined;
      return find(await this.load({ fromCache: false }));
    }
  }

  /**
   * The https.Agent carrying the credentials' TLS settings (cacert, cert/key, verify), shared by
   * Keystone and every service reached through this session; undefined for the defaults.
   */
  get agent(): Agent | undefined {
    if (!this.tlsAgentMade) {
      this.agentOfTls = tlsAgent(this.credentials.tls, this.credentials.source);
      this.tlsAgentMade = true;
    }
    return this.agentOfTls;
  }

  /** Forget `token` (in memory and on disk, if the cache still holds it). */
  invalidate(token: string): void {
    this.rejected.add(token);
    if (this.state?.token === token) this.state = undefined;
    const file = this.file();
    if (file) {
      try {
        dropCache(file, token);
      } catch (e) {
        this.log.warn('could not remove a rejected token from the cache', { file, error: String(e) });
      }
    }
  }

  /**
   * An authenticated request. On 401 it gets a new token and sends the request once more (a 401
   * means the service did nothing), so a revoked or expired token costs one extra round trip.
   * Rejects with the raw fetch error on transport failures (see transportFailure()).
   */
  async request(url: string, opts: RequestOptions = {}): Promise<Response> {
    const first = await this.auth();
    const res = await httpFetch(url, this.withToken(opts, first.token), this.userAgent);
    if (res.status !== 401 || opts.noReauth) return res;
    await discard(res);
    this.log.info('token rejected by a service; authenticating again', { url, status: 401 });
    this.invalidate(first.token);
    const second = await this.auth();
    const retry = await httpFetch(url, this.withToken(opts, second.token), this.userAgent);
    if (retry.status === 401) {
      await discard(retry);
      this.invalidate(second.token);
      throw new IdentityError(
        'rejected',
        `${opts.method ?? 'GET'} ${stripQuery(url)} was refused (HTTP 401) even with a new token for ${describeCredentials(this.credentials)} from Keystone at ${this.credentials.authUrl}`,
      );
    }
    return retry;
  }

  private withToken(opts: RequestOptions, token: string): HttpOptions {
    return { agent: this.agent, ...opts, headers: { ...opts.headers, 'x-auth-token': token } };
  }

  private fresh(s: AuthState): boolean {
    return s.expiresAt.getTime() - this.margin > Date.now() && !this.rejected.has(s.token);
  }

  private file(): string | undefined {
    return this.cacheDir === null ? undefined : cacheFile(this.cacheDir, this.credentials);
  }

  /**
   * The cache file, once the directory is this user's alone (secureCacheDir). A directory another
   * user owns is refused (InputError); one that cannot be made or read means no cache this time.
   */
  private usableCacheFile(): string | undefined {
    const file = this.file();
    if (!file || this.cacheDir === null) return undefined;
    try {
      secureCacheDir(this.cacheDir);
      return file;
    } catch (e) {
      if (e instanceof InputError) throw e;
      this.log.warn('the token cache directory is unusable; authenticating without it', {
        dir: this.cacheDir,
        error: String(e),
      });
      return undefined;
    }
  }

  private async load(o: { fromCache?: boolean } = {}): Promise<AuthState> {
    const file = this.usableCacheFile();
    if (file && o.fromCache !== false) {
      const cached = readCache(file);
      if (cached && this.fresh(cached)) {
        this.state = cached;
        this.tokenSource = 'cache';
        this.log.debug('token from cache', { file, expiresAt: cached.expiresAt.toISOString() });
        return cached;
      }
    }
    let issued: AuthState;
    const started = Date.now();
    try {
      issued = await this.issueWithRetries();
    } catch (e) {
      this.log.warn('authentication failed', { error: e instanceof Error ? e.message : String(e) });
      throw e;
    }
    this.issuedCount += 1;
    this.state = issued;
    this.tokenSource = 'keystone';
    // durationMs: the time spent waiting on Keystone (bench/ reads it from the plugin's log).
    this.log.debug('token issued', {
      method: 'POST',
      path: '/auth/tokens',
      authUrl: this.credentials.authUrl,
      expiresAt: issued.expiresAt.toISOString(),
      durationMs: Date.now() - started,
    });
    if (file && this.cacheDir !== null) {
      try {
        writeCache(file, this.cacheDir, issued);
      } catch (e) {
        // Without a cache every process authenticates; slower, still correct.
        this.log.warn('could not write the token cache', { file, error: String(e) });
      }
    }
    return issued;
  }

  private async issueWithRetries(): Promise<AuthState> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await issueToken(this.credentials, {
          timeoutMs: this.authTimeoutMs,
          userAgent: this.userAgent,
          agent: this.agent,
        });
      } catch (e) {
        if (!(e instanceof IdentityError) || !e.retryable || attempt >= this.authRetries) throw e;
        const delay = 100 * 2 ** attempt * (0.5 + Math.random() / 2);
        this.log.info('Keystone unreachable; retrying', {
          attempt: attempt + 1,
          delayMs: Math.round(delay),
          error: e.message,
        });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}

function stripQuery(url: string): string {
  const i = url.indexOf('?');
  return i < 0 ? url : url.slice(0, i);
}

/** A Session for `credentials`. */
export function createSession(credentials: Credentials, opts: SessionOptions = {}): Session {
  return new Session(credentials, opts);
}
