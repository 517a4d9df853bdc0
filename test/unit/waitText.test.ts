import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aboutDuration, queuedText } from '../../protocol/waitText';

const est = (queueMs: number, totalMs: number, position?: number) => ({
  totalMs,
  confidence: 0.7,
  factors: { downloadMs: 0, queueMs, processingMs: totalMs - queueMs },
  ...(position !== undefined ? { position } : {}),
});

test('a wait in the queue reads as a countdown in human time', () => {
  assert.equal(queuedText(est(12_000, 14_000, 2)), 'queued behind 2 requests: about 14 s');
  assert.equal(queuedText(est(12_000, 14_000, 1), 4_000), 'queued behind 1 request: about 10 s');
  assert.equal(queuedText(est(120_000, 125_000)), 'queued: about 2 min 5 s');
  assert.equal(queuedText(est(12_000, 14_000, 2), 20_000), 'queued behind 2 requests: any moment now');
});

test('no queue, no words', () => {
  assert.equal(queuedText(est(0, 900)), undefined);
  assert.equal(queuedText(est(300, 5_000)), undefined);
});

test('durations never show raw milliseconds', () => {
  for (const ms of [1, 999, 1500, 59_999, 60_000, 61_000, 3_600_000])
    assert.doesNotMatch(aboutDuration(ms), /ms|\d{4,}/);
});
