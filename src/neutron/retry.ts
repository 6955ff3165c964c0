/** When a failed Neutron call may be sent again, and how long to wait first (pure). */
import type { TransportFailure } from '../identity/index.ts';

export interface RetryPolicy {
  /** Extra attempts after the first. Default 3. */
  retries: number;
  /** First backoff; doubles each attempt. Default 200 ms. */
  baseDelayMs: number;
  /** Upper bound of one backoff. Default 3 s. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 200, maxDelayMs: 3000 };

/** Exponential backoff with jitter: uniform in [d/2, d], d = min(max, base·2^attempt). */
export function backoffDelay(attempt: number, p: RetryPolicy, random: () => number = Math.random): number {
  const d = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** attempt);
  return d / 2 + (random() * d) / 2;
}

/**
 * Whether resending is safe. GET, PUT and DELETE are idempotent; a POST is only resent when the
 * connection failed before the request left (refused, unresolved): otherwise Neutron may have
 * created the resource already.
 */
export function safeToResend(method: string, failure: TransportFailure | 'http-retryable'): boolean {
  const m = method.toUpperCase();
  if (m === 'GET' || m === 'PUT' || m === 'DELETE' || m === 'HEAD') {
    return failure === 'http-retryable' || failure.kind !== 'aborted';
  }
  return failure !== 'http-retryable' && !failure.mayHaveBeenSent;
}
