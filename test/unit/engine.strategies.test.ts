// Strategies: fastest (race, losers aborted), hedging (fixed delay and observed p95),
// load_balanced (health-ordered, open circuits last, ties spread), and half-open probing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { orderByHealth, type HealthView } from '../../server/core/strategies';
import { fail, hang, ok, setupEngine } from '../helpers/fakeProvider';

describe('fastest', () => {
  it('starts every model at once; the first complete answer wins and the others are aborted', async () => {
    const h = setupEngine({ config: { strategy: 'fastest' } });
    h.provider.script('slow', ok('slow answer', { ttftMs: 2000 }));
    h.provider.script('quick', ok('quick answer', { ttftMs: 100 }));
    h.provider.script('never', hang({ ignoreAbort: true }));
    const t0 = h.clock.now();
    const o = await h.run(['slow', 'quick', 'never']);
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/quick');
    assert.equal(o.r.fallbackOccurred, false);
    assert.deepEqual(
      h.provider.calls.map((c) => c.at - t0),
      [0, 0, 0],
    );
    const quickEnd = h.provider.callsTo('quick')[0]?.settledAt;
    assert.equal(h.provider.callsTo('slow')[0]?.abortedAt, quickEnd);
    assert.equal(h.provider.callsTo('never')[0]?.abortedAt, quickEnd);
    assert.deepEqual(o.r.attempts.map((a) => [a.model, a.outcome]).sort(), [
      ['fake/never', 'cancelled'],
      ['fake/quick', 'success'],
      ['fake/slow', 'cancelled'],
    ]);
    assert.equal(h.clock.pending(), 0, 'no timer left behind');
  });

  it('a model that fails fast does not win; the next to finish answers and a fallback is reported', async () => {
    const h = setupEngine({ config: { strategy: 'fastest', contentPolicyFallback: true } });
    h.provider.script('a', fail('content_filter', { afterMs: 10 }));
    h.provider.script('b', ok('b answer', { ttftMs: 500 }));
    const o = await h.run(['a', 'b']);
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/b');
    assert.equal(o.r.fallbackOccurred, true);
    const fb = h.events.find((e) => e.type === 'fallback');
    assert.ok(fb?.type === 'fallback' && fb.from === 'fake/a' && fb.to === 'fake/b');
  });

  it('streams only one model to the caller; a late winner resets and replays its own text', async () => {
    const h = setupEngine({ config: { strategy: 'fastest' } });
    h.provider.script('a', fail('server_error', { deltas: [[10, 'a-partial ']], afterMs: 400 }));
    h.provider.script('b', ok('b whole answer', { ttftMs: 50, tokenMs: 200 }));
    const streamed: string[] = [];
    const o = await h.run(
      ['a', 'b'],
      { strategy: 'fastest' },
      { onDelta: (d) => streamed.push(d), onReset: () => (streamed.length = 0) },
    );
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/b');
    assert.equal(streamed.join(''), o.r.text);
  });
});

describe('hedging', () => {
  it('fixed delay: starts the next model when the first has no token yet; first success wins, loser aborted', async () => {
    const h = setupEngine({ config: { hedging: { enabled: true, delayMs: 500 } } });
    h.provider.script('primary', ok('late', { ttftMs: 3000 }));
    h.provider.script('hedge', ok('hedged answer', { ttftMs: 100 }));
    const t0 = h.clock.now();
    const o = await h.run(['primary', 'hedge']);
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/hedge');
    assert.equal(h.provider.callsTo('hedge')[0]?.at, t0 + 500);
    // The hedge's last token lands at 500 + 110 ms: that ends the race.
    assert.equal(h.provider.callsTo('primary')[0]?.abortedAt, t0 + 610);
    assert.equal(o.r.fallbackOccurred, false, 'a hedge win is not a failure');
    assert.equal(h.health.get('fake/primary').failureCount, 0, 'the slow loser is not blamed');
  });

  it('no hedge when the first token arrives before the delay', async () => {
    const h = setupEngine({ config: { hedging: { enabled: true, delayMs: 500 } } });
    h.provider.script('primary', ok('on time', { ttftMs: 200, tokenMs: 400 }));
    h.provider.script('hedge', ok('unused'));
    const o = await h.run(['primary', 'hedge']);
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/primary');
    assert.equal(h.provider.callsTo('hedge').length, 0);
  });

  it('p95: no hedge before enough samples, then a hedge at the observed p95 time to first token', async () => {
    const h = setupEngine({ config: { hedging: { enabled: true, delayMs: 'p95' } } });
    h.provider.script('hedge', ok('hedged'));
    h.provider.script(
      'primary',
      ok('warm', { ttftMs: 100 }),
      ok('warm', { ttftMs: 100 }),
      ok('warm', { ttftMs: 100 }),
      ok('warm', { ttftMs: 100 }),
      ok('warm', { ttftMs: 100 }),
      ok('stuck', { ttftMs: 5000 }),
    );
    for (let i = 0; i < 5; i++) {
      const o = await h.run(['primary', 'hedge']);
      assert.ok(o.ok && o.r.modelUsed === 'fake/primary');
    }
    assert.equal(h.provider.callsTo('hedge').length, 0);
    assert.equal(h.health.ttftP95('fake/primary'), 100);
    const t0 = h.clock.now();
    const o = await h.run(['primary', 'hedge']);
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/hedge');
    assert.equal(h.provider.callsTo('hedge')[0]?.at, t0 + 100);
  });
});

describe('load_balanced', () => {
  const view = (m: Record<string, { rate?: number; latency?: number; blocked?: boolean }>): HealthView => ({
    blocked: (x) => (m[x]?.blocked ? { until: 1, reason: 'open' } : undefined),
    recentSuccessRate: (x) => m[x]?.rate,
    latencyEwma: (x) => m[x]?.latency,
    ttftP95: () => undefined,
  });

  it('orders by success rate, then latency; refused models go last', () => {
    const v = view({
      a: { rate: 0.5, latency: 100 },
      b: { rate: 1, latency: 2000 },
      c: { rate: 1, latency: 200 },
      d: { blocked: true },
    });
    assert.deepEqual(
      orderByHealth(['d', 'a', 'b', 'c'], v, () => 0),
      ['c', 'b', 'a', 'd'],
    );
  });

  it('spreads equally healthy models using random()', () => {
    const v = view({ a: { rate: 1, latency: 100 }, b: { rate: 1, latency: 105 }, c: { rate: 0.2, latency: 100 } });
    const firsts = new Set([0, 0.99].map((r) => orderByHealth(['a', 'b', 'c'], v, () => r)[0]));
    assert.deepEqual([...firsts].sort(), ['a', 'b']);
    for (const r of [0, 0.5, 0.99]) assert.equal(orderByHealth(['a', 'b', 'c'], v, () => r)[2], 'c');
  });

  it('through the engine: an open circuit is skipped, the healthiest model answers', async () => {
    const h = setupEngine({ config: { strategy: 'load_balanced' }, circuit: { failureThreshold: 1 } });
    h.provider.script('flaky', fail('server_error'));
    h.provider.script('steady', ok('steady'));
    const first = await h.run(['flaky', 'steady']);
    assert.ok(first.ok && first.r.modelUsed === 'fake/steady');
    const before = h.provider.callsTo('flaky').length;
    const second = await h.run(['flaky', 'steady']);
    assert.ok(second.ok);
    assert.deepEqual(
      second.r.attempts.map((a) => [a.model, a.outcome]),
      [['fake/steady', 'success']],
    );
    assert.equal(h.provider.callsTo('flaky').length, before);
  });
});

describe('half-open probing', () => {
  it('exactly one probe at a time: a concurrent request skips the recovering model', async () => {
    const h = setupEngine({ circuit: { failureThreshold: 1, cooldownMs: 1000 } });
    h.provider.script('primary', fail('server_error', { afterMs: 0 }), ok('probe ok', { ttftMs: 500 }));
    h.provider.script('fallback', ok('fallback'));
    await h.run(['primary', 'fallback']);
    await h.clock.advance(1000);
    const probe = h.start(['primary', 'fallback']);
    const other = h.start(['primary', 'fallback']);
    const [a, b] = await h.clock.run(Promise.all([probe, other]));
    assert.equal(a.modelUsed, 'fake/primary');
    assert.equal(b.modelUsed, 'fake/fallback');
    assert.match(b.attempts[0]?.message ?? '', /probe request is already testing/);
    assert.equal(h.health.get('fake/primary').state, 'healthy');
  });
});
