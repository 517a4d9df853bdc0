// The CLI's human output for the decision and operations commands (issue 18): what a person reads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { planText, suggestionsTable, waitLine } from '../../server/cli/decisionCommands';
import { bar, monitorRow, queueTable, statsText } from '../../server/cli/opsCommands';
import { fuzzOptions } from '../helpers/fuzz';

describe('decision commands', () => {
  it('suggestions: score and quality in words, the reasons joined, an empty list explained', () => {
    const t = suggestionsTable([
      {
        model: 'local/a',
        score: 0.812,
        reasons: ['fits in memory (1.2 GB)', 'ran out of memory 2 s ago'],
        qualityDelta: -0.25,
        available: true,
        estimatedWaitMs: 0,
      },
    ]);
    assert.match(t, /local\/a.*81 %.*yes.*-0\.25.*now.*fits in memory \(1\.2 GB\); ran out of memory 2 s ago/);
    assert.match(suggestionsTable([]), /No other model is known/);
  });

  it('plan: the recommendation first, marked, with every option', () => {
    const t = planText('cloud/x', {
      failure: 'rate_limited',
      recommended: {
        type: 'queue_and_wait',
        model: 'cloud/x',
        confidence: 0.85,
        estimatedWaitMs: 2000,
        message: 'wait 2 s',
      },
      options: [
        { type: 'queue_and_wait', model: 'cloud/x', confidence: 0.85, estimatedWaitMs: 2000, message: 'wait 2 s' },
        { type: 'alternative_model', model: 'local/y', confidence: 0.6, estimatedWaitMs: 0, message: 'use local/y' },
      ],
    });
    assert.match(t, /^When cloud\/x fails with rate_limited: wait 2 s/);
    assert.match(t, /→ .*queue_and_wait.*85 %.*2 s/);
    assert.doesNotMatch(t.split('\n').find((l) => l.includes('local/y')) ?? '', /→/);
  });

  it('wait: the total and its parts in human time', () => {
    const l = waitLine('local/a', {
      totalMs: 75_000,
      confidence: 0.6,
      factors: { downloadMs: 0, queueMs: 60_000, processingMs: 15_000 },
      position: 2,
    });
    assert.equal(
      l,
      'local/a: a new request would take about 1 min 15 s (queue 1 min, answer 15 s), behind 2 requests; confidence 60 %',
    );
  });
});

describe('operations commands', () => {
  it('queue: a row per waiting request, an empty queue said in words', () => {
    const now = Date.parse('2026-01-01T00:01:00Z');
    const t = queueTable(
      [
        {
          id: 'q1',
          model: 'local/a',
          priority: 'high',
          position: 1,
          enqueuedAt: '2026-01-01T00:00:30Z',
          estimatedWaitMs: 4000,
        },
      ],
      now,
    );
    assert.match(t, /1.*q1.*local\/a.*high.*30 s ago.*4 s/);
    assert.match(queueTable([]), /The queue is empty/);
  });

  it('stats: counts, rates and each model’s share', () => {
    const t = statsText({
      totalRequests: 10,
      fallbackRequests: 3,
      fallbackRate: 0.3,
      failedRequests: 1,
      modelsUsed: { 'local/a': 6, 'cloud/b': 3 },
    });
    assert.match(t, /requests: 10 {3}fell back: 3 \(30 %\) {3}failed: 1/);
    assert.match(t, /local\/a.*6.*67 %/);
    assert.match(
      statsText({ totalRequests: 0, fallbackRequests: 0, fallbackRate: 0, modelsUsed: {} }),
      /No model has answered yet/,
    );
  });

  it('monitor rows show VRAM only when a GPU reports it', () => {
    const base = {
      at: '2026-01-01T10:20:30.000Z',
      healthScore: 87,
      cpuLoadPercent: 12.4,
      memAvailableBytes: 2 * 1024 ** 3,
    };
    assert.match(monitorRow(base), /^10:20:30 {2}health {2}87 █+·+ {2}CPU {2}12 % {2}RAM free +2\.0 GB$/);
    assert.match(monitorRow({ ...base, vramFreeBytes: 512 * 1024 ** 2 }), /VRAM free +512 MB$/);
  });

  it('property: a bar is always its width, full at 100 and empty at 0', () => {
    fc.assert(
      fc.property(fc.double({ min: -50, max: 150, noNaN: true }), fc.integer({ min: 1, max: 40 }), (v, w) => {
        const b = bar(v, w);
        assert.equal([...b].length, w);
        if (v >= 100) assert.equal(b, '█'.repeat(w));
        if (v <= 0) assert.equal(b, '·'.repeat(w));
      }),
      fuzzOptions(500),
    );
  });
});
