import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { TransportFailure } from '../identity/index.ts';
import { backoffDelay, DEFAULT_RETRY, safeToResend } from './retry.ts';

test('backoff doubles per attempt, stays within [d/2, d] and never exceeds the cap', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 20 }),
      fc.double({ min: 0, max: 0.999999, noNaN: true }),
      (attempt, r) => {
        const d = Math.min(DEFAULT_RETRY.maxDelayMs, DEFAULT_RETRY.baseDelayMs * 2 ** attempt);
        const delay = backoffDelay(attempt, DEFAULT_RETRY, () => r);
        return delay >= d / 2 && delay <= d && delay <= DEFAULT_RETRY.maxDelayMs;
      },
    ),
  );
  assert.equal(
    backoffDelay(0, DEFAULT_RETRY, () => 1),
    200,
  );
  assert.equal(
    backoffDelay(1, DEFAULT_RETRY, () => 1),
    400,
  );
  assert.equal(
    backoffDelay(10, DEFAULT_RETRY, () => 0),
    1500,
  );
});

test('GET/PUT/DELETE are resent after any retryable failure; POST only if it never left', () => {
  const refused: TransportFailure = { kind: 'refused', mayHaveBeenSent: false, code: 'ECONNREFUSED' };
  const reset: TransportFailure = { kind: 'reset', mayHaveBeenSent: true, code: 'ECONNRESET' };
  const timeout: TransportFailure = { kind: 'timeout', mayHaveBeenSent: true, code: 'TimeoutError' };
  for (const m of ['GET', 'PUT', 'DELETE']) {
    for (const f of [refused, reset, timeout, 'http-retryable' as const])
      assert.equal(safeToResend(m, f), true, `${m}`);
  }
  assert.equal(safeToResend('POST', refused), true);
  assert.equal(safeToResend('POST', reset), false);
  assert.equal(safeToResend('POST', timeout), false);
  assert.equal(safeToResend('POST', 'http-retryable'), false);
  assert.equal(safeToResend('GET', { kind: 'aborted', mayHaveBeenSent: true, code: 'AbortError' }), false);
});
