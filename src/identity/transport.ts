/**
 * HTTP with a timeout (the global fetch, or node:https with the credentials' TLS settings), and
 * classification of transport failures.
 */
import type { Agent } from 'node:https';
import { send, tlsFailureOf } from '../http/index.ts';

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  /**
   * Timeout of the whole exchange. Default: none when `signal` is given (the caller's deadline
   * bounds it), else 30 s.
   */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** TLS settings (tlsAgent()) for https:// URLs; undefined = system CAs, verified. */
  agent?: Agent | undefined;
}

export const USER_AGENT = 'nnet/0.1';

/** One exchange bounded by the caller's signal and/or a timeout covering the whole exchange. */
export function httpFetch(url: string, opts: HttpOptions = {}, userAgent = USER_AGENT): Promise<Response> {
  const timeout =
    opts.timeoutMs !== undefined || !opts.signal ? AbortSignal.timeout(opts.timeoutMs ?? 30_000) : undefined;
  const signal = opts.signal && timeout ? AbortSignal.any([opts.signal, timeout]) : (opts.signal ?? timeout);
  const headers: Record<string, string> = {
    accept: 'application/json',
    'user-agent': userAgent,
    ...opts.headers,
  };
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  return send(url, { method: opts.method ?? 'GET', headers, body, signal }, opts.agent);
}

/** `tls`: the handshake failed (untrusted or mismatched certificate): configuration, never retried. */
export type TransportFailureKind = 'refused' | 'reset' | 'timeout' | 'dns' | 'aborted' | 'tls' | 'other';
export interface TransportFailure {
  kind: TransportFailureKind;
  /** False only when the request certainly never reached the server (safe to resend a POST). */
  mayHaveBeenSent: boolean;
  /** e.g. ECONNREFUSED, UND_ERR_SOCKET, TimeoutError, UNABLE_TO_VERIFY_LEAF_SIGNATURE. */
  code: string;
  /** For `tls`: what the failure means (`the server's certificate is not trusted (…)`). */
  why?: string;
}

const NOT_SENT: Record<string, TransportFailureKind> = {
  ECONNREFUSED: 'refused',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EHOSTUNREACH: 'refused',
  ENETUNREACH: 'refused',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
};
const MAYBE_SENT: Record<string, TransportFailureKind> = {
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_CLOSED: 'reset',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ETIMEDOUT: 'timeout',
};

function codeOf(e: unknown): string | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Several addresses tried (happy eyeballs): an AggregateError of per-address errors.
  const errors = (e as { errors?: unknown }).errors;
  if (Array.isArray(errors)) for (const inner of errors) if (codeOf(inner)) return codeOf(inner);
  return undefined;
}

/**
 * What kind of transport failure a fetch rejection is, or undefined when it is not one (e.g. a
 * programming error). `fetch` rejects with TypeError('fetch failed') whose `cause` holds the code;
 * a timeout signal rejects with a DOMException named TimeoutError.
 */
export function transportFailure(err: unknown): TransportFailure | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const name = (err as { name?: unknown }).name;
  if (name === 'TimeoutError') return { kind: 'timeout', mayHaveBeenSent: true, code: 'TimeoutError' };
  if (name === 'AbortError') return { kind: 'aborted', mayHaveBeenSent: true, code: 'AbortError' };
  const tls = tlsFailureOf(err);
  // A handshake that failed never carried the request.
  if (tls) return { kind: 'tls', mayHaveBeenSent: false, code: tls.code, why: tls.why };
  const cause = (err as { cause?: unknown }).cause;
  const code = codeOf(cause) ?? codeOf(err);
  if (!(err instanceof TypeError) && code === undefined) return undefined;
  if (code && NOT_SENT[code]) return { kind: NOT_SENT[code], mayHaveBeenSent: false, code };
  if (code && MAYBE_SENT[code]) return { kind: MAYBE_SENT[code], mayHaveBeenSent: true, code };
  if (err instanceof TypeError && (err.message === 'fetch failed' || cause !== undefined))
    return { kind: 'other', mayHaveBeenSent: true, code: code ?? 'fetch failed' };
  return undefined;
}

/** `connection refused (ECONNREFUSED)`, for messages. */
export function describeTransportFailure(f: TransportFailure): string {
  const what: Record<TransportFailureKind, string> = {
    refused: 'connection refused',
    reset: 'connection reset',
    timeout: 'timed out',
    dns: 'host name not resolved',
    aborted: 'aborted',
    tls: 'TLS handshake failed',
    other: 'network error',
  };
  if (f.kind === 'tls' && f.why) return `TLS handshake failed: ${f.why}`;
  return `${what[f.kind]} (${f.code})`;
}
