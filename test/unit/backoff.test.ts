// Backoff arithmetic and the retry decision table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FailureKind } from '../../protocol/types';
import { backoffCeilingMs, backoffDelayMs } from '../../server/core/backoff';
import { decideRetry, type RetryInput } from '../../server/core/retryPolicy';

const cfg = { baseMs: 500, maxMs: 8000, jitter: true };

describe('backoff', () => {
  it('the ceiling doubles per retry and stops at maxMs', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 40].map((n) => backoffCeilingMs(cfg, n)),
      [500, 1000, 2000, 4000, 8000, 8000, 8000],
    );
  });

  it('full jitter: uniform in [0, ceiling), driven by the injected random', () => {
    assert.equal(
      backoffDelayMs(cfg, 2, () => 0),
      0,
    );
    assert.equal(
      backoffDelayMs(cfg, 2, () => 0.5),
      1000,
    );
    assert.equal(
      backoffDelayMs(cfg, 2, () => 0.9999),
      1999,
    );
  });

  it('without jitter the delay is the ceiling', () => {
    assert.equal(
      backoffDelayMs({ ...cfg, jitter: false }, 3, () => 0),
      4000,
    );
  });
});

describe('decideRetry', () => {
  const base: RetryInput = {
    kind: 'server_error',
    retry: 0,
    maxRetries: 2,
    blockedForMs: 0,
    backoff: { ...cfg, jitter: false },
    maxRetryAfterMs: 5000,
    timeLeftMs: 60_000,
    random: () => 0.5,
  };
  const cases: Array<[string, Partial<RetryInput>, string, number?]> = [
    ['server_error retries with backoff', {}, 'retry', 500],
    ['network, second retry', { kind: 'network', retry: 1 }, 'retry', 1000],
    ['server_error after maxRetries', { retry: 2 }, 'next'],
    ['server_error when the circuit opened', { blockedForMs: 10_000 }, 'next'],
    ['server_error with no time left', { timeLeftMs: 400 }, 'next'],
    [
      'rate_limited honours Retry-After',
      { kind: 'rate_limited', retryAfterMs: 2000, blockedForMs: 2000 },
      'retry',
      2000,
    ],
    ['rate_limited Retry-After too long', { kind: 'rate_limited', retryAfterMs: 6000 }, 'next'],
    ['rate_limited no header waits out the cooldown', { kind: 'rate_limited', blockedForMs: 1000 }, 'retry', 1000],
    [
      'rate_limited no header, backoff longer than cooldown',
      { kind: 'rate_limited', retry: 1, blockedForMs: 100 },
      'retry',
      1000,
    ],
    ['rate_limited cooldown past maxRetryAfterMs', { kind: 'rate_limited', blockedForMs: 9000 }, 'next'],
    ['rate_limited after maxRetries', { kind: 'rate_limited', retry: 2, retryAfterMs: 10 }, 'next'],
    ['context_overflow goes to a model that fits', { kind: 'context_overflow' }, 'next_fitting'],
    ['cancelled stops', { kind: 'cancelled' }, 'stop'],
  ];
  for (const kind of [
    'timeout',
    'stream_interrupted',
    'content_filter',
    'bad_request',
    'auth',
    'model_load',
    'out_of_memory',
    'model_missing',
    'unknown',
  ] as FailureKind[]) {
    cases.push([`${kind} never retries`, { kind }, 'next']);
  }
  for (const [name, patch, action, delayMs] of cases) {
    it(name, () => {
      const d = decideRetry({ ...base, ...patch });
      assert.equal(d.action, action, d.why);
      if (delayMs !== undefined) assert.equal(d.action === 'retry' && d.delayMs, delayMs);
    });
  }
});
