// Rate-limit header parsing: every form providers send, and the precedence between them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDurationMs, parseRetryAfterMs, parseTimeValue } from '../../server/providers/retryAfter';

const NOW_MS = Date.parse('2025-01-01T00:00:00Z');
const h = (init: Record<string, string>): Headers => new Headers(init);

test('parseDurationMs reads Go-style durations', () => {
  const cases: [string, number | undefined][] = [
    ['1s', 1000],
    ['6m0s', 360_000],
    ['250ms', 250],
    ['1.5s', 1500],
    ['1h2m3s', 3_723_000],
    ['2m59.56s', 179_560],
    ['', undefined],
    ['abc', undefined],
    ['5', undefined],
    ['1s junk', undefined],
    ['1x', undefined],
  ];
  for (const [input, want] of cases) assert.equal(parseDurationMs(input), want, input);
});

test('parseTimeValue: bare numbers in the given unit, durations, HTTP and ISO dates', () => {
  assert.equal(parseTimeValue('2', NOW_MS, 's'), 2000);
  assert.equal(parseTimeValue('2', NOW_MS, 'ms'), 2);
  assert.equal(parseTimeValue('0.5', NOW_MS, 's'), 500);
  assert.equal(parseTimeValue('Wed, 01 Jan 2025 00:00:30 GMT', NOW_MS, 's'), 30_000);
  assert.equal(parseTimeValue('2025-01-01T00:01:00Z', NOW_MS, 's'), 60_000);
  assert.equal(
    parseTimeValue('Tue, 31 Dec 2024 23:00:00 GMT', NOW_MS, 's'),
    0,
    'a past date means now, never negative',
  );
  assert.equal(parseTimeValue('soon', NOW_MS, 's'), undefined);
});

test('parseRetryAfterMs: each header alone', () => {
  const cases: [Record<string, string>, number | undefined][] = [
    [{}, undefined],
    [{ 'retry-after': '2' }, 2000],
    [{ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }, 5000],
    [{ 'retry-after-ms': '1234' }, 1234],
    [{ 'x-ratelimit-reset-requests': '1s' }, 1000],
    [{ 'x-ratelimit-reset-tokens': '6m0s' }, 360_000],
    [{ 'anthropic-ratelimit-requests-reset': '2025-01-01T00:00:10Z' }, 10_000],
    [{ 'retry-after': 'garbage' }, undefined],
  ];
  for (const [headers, want] of cases)
    assert.equal(parseRetryAfterMs(h(headers), NOW_MS), want, JSON.stringify(headers));
});

test('parseRetryAfterMs: retry-after-ms beats Retry-After beats the reset family', () => {
  assert.equal(
    parseRetryAfterMs(h({ 'retry-after-ms': '300', 'retry-after': '9', 'x-ratelimit-reset-requests': '1m' }), NOW_MS),
    300,
  );
  assert.equal(parseRetryAfterMs(h({ 'retry-after': '9', 'x-ratelimit-reset-requests': '1m' }), NOW_MS), 9000);
});

test('parseRetryAfterMs: among reset headers the exhausted one wins, else the longest', () => {
  const both = { 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '30s' };
  assert.equal(parseRetryAfterMs(h(both), NOW_MS), 30_000, 'unknown remaining: never hammer');
  assert.equal(
    parseRetryAfterMs(
      h({ ...both, 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-remaining-tokens': '5000' }),
      NOW_MS,
    ),
    1000,
  );
  assert.equal(
    parseRetryAfterMs(
      h({ ...both, 'x-ratelimit-remaining-requests': '12', 'x-ratelimit-remaining-tokens': '0' }),
      NOW_MS,
    ),
    30_000,
  );
});
