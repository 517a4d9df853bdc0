import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FAILURE_KINDS } from '../../../protocol/enums';
import type { Attempt } from '../../../protocol/types';
import { reasonsPerModel, renderTrace, whyNext } from '../../../client/attemptsTrace';

const RAW_TIME = [/\b\d{4,} ?ms\b/, /\+\d+ ?ms/, /\d{4}-\d\d-\d\dT\d\d:\d\d/];

const attempts: Attempt[] = [
  {
    model: 'cloud/w-503',
    outcome: 'error',
    failure: 'server_error',
    message: 'HTTP 503',
    latencyMs: 120,
    retry: 0,
    startedAtMs: 0,
  },
  {
    model: 'cloud/w-503',
    outcome: 'error',
    failure: 'server_error',
    message: 'HTTP 503',
    latencyMs: 95,
    retry: 1,
    startedAtMs: 380,
  },
  {
    model: 'cloud/slow',
    outcome: 'timeout',
    failure: 'timeout',
    message: 'no first token in 30 s',
    latencyMs: 30_000,
    retry: 0,
    startedAtMs: 480,
  },
  { model: 'local/tiny', outcome: 'success', latencyMs: 2_400, retry: 0, startedAtMs: 30_490 },
];

test('the trace shows each attempt, its failure in words, its latency, and why the next model was chosen', () => {
  const md = renderTrace({
    id: 'r1',
    startedAt: Date.now(),
    attempts,
    modelUsed: 'local/tiny',
    totalLatencyMs: 32_900,
  });
  const rows = md.split('\n').filter((l) => /^\| \d+ \|/.test(l));
  assert.equal(rows.length, 4);
  assert.match(
    rows[0] ?? '',
    /`cloud\/w-503` \| server error \(HTTP 503\) \| 120 ms \| at once \| retried the same model \(try 2\)/,
  );
  assert.match(rows[1] ?? '', /server errors persisted after the retries; next in chain order: cloud\/slow/);
  assert.match(rows[2] ?? '', /timed out \(no first token in 30 s\) \| 30 s \| after 480 ms \|/);
  assert.match(rows[3] ?? '', /answered \| 2\.4 s \| after 30 s \| answered/);
  assert.match(md, /Answered by `local\/tiny` after 3 failed attempts/);
  assert.match(md, /took 33 s/);
  for (const re of RAW_TIME) assert.doesNotMatch(md, re);
});

test('a provider message that repeats the model and the failure is said once', () => {
  const a: Attempt = {
    model: 'fake/limited',
    outcome: 'error',
    failure: 'rate_limited',
    message: 'fake/limited: rate limited (HTTP 429, rate_limit_error): slow down',
    latencyMs: 5,
    retry: 0,
  };
  assert.deepEqual(reasonsPerModel([a]), ['fake/limited: rate limited (HTTP 429, rate_limit_error): slow down']);
});

test('reasons per model: each model once, its last failure', () => {
  assert.deepEqual(reasonsPerModel(attempts), [
    'cloud/w-503: server error (HTTP 503)',
    'cloud/slow: timed out (no first token in 30 s)',
  ]);
});

test('property: any attempts render one row each, no table-breaking text, no raw ms above a second', () => {
  const attempt: fc.Arbitrary<Attempt> = fc.record(
    {
      model: fc.constantFrom('a/x', 'b/y', 'c/z'),
      outcome: fc.constantFrom('success', 'error', 'timeout', 'skipped', 'cancelled') as fc.Arbitrary<
        Attempt['outcome']
      >,
      failure: fc.constantFrom(...FAILURE_KINDS),
      message: fc.string({ maxLength: 40 }),
      latencyMs: fc.double({ min: 0, max: 1e7, noNaN: true }),
      retry: fc.nat(5),
      startedAtMs: fc.double({ min: 0, max: 1e7, noNaN: true }),
    },
    { requiredKeys: ['model', 'outcome', 'latencyMs', 'retry'] },
  );
  fc.assert(
    fc.property(fc.array(attempt, { maxLength: 8 }), (list) => {
      const clean = list.map(
        (a) => Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as Attempt,
      );
      const md = renderTrace({ id: 'p', startedAt: 0, attempts: clean, strategy: 'fastest' });
      const rows = md.split('\n').filter((l) => /^\| \d+ \|/.test(l));
      assert.equal(rows.length, clean.length);
      for (const [i, row] of rows.entries()) {
        const cells = row.split(/(?<!\\)\|/).length;
        assert.equal(cells, 8, `row ${i}: ${row}`);
      }
      if (clean.every((a) => !a.message)) for (const re of RAW_TIME) assert.doesNotMatch(md, re);
      clean.forEach((_, i) => assert.ok(whyNext(clean, i, { strategy: 'fastest' }).length > 0));
    }),
  );
});
