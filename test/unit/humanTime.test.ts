import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { humanDuration, humanWait, relativeIso, relativeTime } from '../../protocol/humanTime';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };
const SHAPE = /^(\d+(?:\.\d)?) (ms|s|min|h|d)(?: (\d+) (s|min|h))?$/;

/** Read a humanDuration back into milliseconds, and the size of its smallest unit. */
function parse(text: string): { ms: number; unitMs: number } {
  const m = SHAPE.exec(text);
  assert.ok(m, `unexpected shape: ${text}`);
  const [, a, ua, b, ub] = m;
  const first = Number(a) * (UNIT_MS[ua ?? ''] ?? NaN);
  const second = b === undefined ? 0 : Number(b) * (UNIT_MS[ub ?? ''] ?? NaN);
  const small = ub ?? ua ?? '';
  // "2.5 s" is precise to a tenth of a second; "4 min" dropped a zero seconds part.
  const unitMs = a?.includes('.')
    ? 100
    : b === undefined && ua !== 'ms' && ua !== 's'
      ? smaller(ua ?? '')
      : UNIT_MS[small];
  return { ms: first + second, unitMs: unitMs ?? NaN };
}

function smaller(unit: string): number {
  return unit === 'min' ? 1000 : unit === 'h' ? 60_000 : 3_600_000;
}

test('durations read as people say them', () => {
  assert.equal(humanDuration(350), '350 ms');
  assert.equal(humanDuration(2_500), '2.5 s');
  assert.equal(humanDuration(42_000), '42 s');
  assert.equal(humanDuration(280_631), '4 min 41 s');
  assert.equal(humanDuration(300_000), '5 min');
  assert.equal(humanDuration(3_900_000), '1 h 5 min');
  assert.equal(humanDuration(9_960), '10 s');
  assert.equal(humanWait(2), '1 s');
  assert.equal(humanWait(280_001), '4 min 41 s');
  assert.equal(relativeTime(1_000_000 + 280_000, 1_000_000), 'in 4 min 40 s');
  assert.equal(relativeTime(1_000_000 - 120_000, 1_000_000), '2 min ago');
  assert.equal(relativeTime(1_000_300, 1_000_000), 'just now');
  assert.equal(relativeIso('not a date', 0), undefined);
});

test('property: every duration parses back to itself within its last unit, with no raw ms above a second', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 1e11, noNaN: true }), (ms) => {
      const text = humanDuration(ms);
      assert.doesNotMatch(text, /\d{4,} ?ms/);
      const back = parse(text);
      assert.ok(Math.abs(back.ms - ms) <= back.unitMs, `${ms} read as "${text}" (${back.ms})`);
    }),
  );
});

test('property: a wait under an hour never reads shorter than it is (a countdown must not reach zero early)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3_599_999 }), (ms) => {
      assert.ok(parse(humanWait(ms)).ms >= ms, `${ms} read as ${humanWait(ms)}`);
    }),
  );
});
