// Latency budgets (per purpose): no first token within budgetMs and the next model is hedged in, even
// with hedging off; a model whose recent p95 first-token time exceeds the budget is tried last.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { orderForBudget, type HealthView } from '../../server/core/strategies';
import { ok, setupEngine } from '../helpers/fakeProvider';

const view = (p95: Record<string, number>): HealthView => ({
  blocked: () => undefined,
  recentSuccessRate: () => undefined,
  latencyEwma: () => undefined,
  ttftP95: (m) => p95[m],
});

describe('latency budget', () => {
  it('hedges the next model when the first has no token within the budget', async () => {
    const h = setupEngine();
    h.provider.script('slow', ok('late', { ttftMs: 3000 }));
    h.provider.script('quick', ok('quick answer', { ttftMs: 100 }));
    const t0 = h.clock.now();
    const o = await h.run(['slow', 'quick'], { purpose: 'inline', budgetMs: 400 });
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/quick');
    assert.equal(h.provider.callsTo('quick')[0]?.at, t0 + 400, 'hedged exactly at the budget');
  });

  it('a first token within the budget starts no hedge', async () => {
    const h = setupEngine();
    h.provider.script('fine', ok('answer', { ttftMs: 200 }));
    h.provider.script('spare', ok('never asked'));
    const o = await h.run(['fine', 'spare'], { purpose: 'inline', budgetMs: 400 });
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/fine');
    assert.equal(h.provider.callsTo('spare').length, 0);
  });

  it('without a budget (and hedging off) the slow model is waited for', async () => {
    const h = setupEngine();
    h.provider.script('slow', ok('late', { ttftMs: 3000 }));
    h.provider.script('quick', ok('quick answer'));
    const o = await h.run(['slow', 'quick'], { purpose: 'chat' });
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/slow');
    assert.equal(h.provider.callsTo('quick').length, 0);
  });

  it('models whose p95 first-token time exceeds the budget go last, in their order', () => {
    const health = view({ a: 900, b: 100, c: 500, d: 50 });
    assert.deepEqual(orderForBudget(['a', 'b', 'c', 'd', 'e'], health, 400), ['b', 'd', 'e', 'a', 'c']);
    assert.deepEqual(orderForBudget(['a', 'b', 'c'], health, undefined), ['a', 'b', 'c']);
  });

  it('through the engine: a model measured too slow for the budget is tried after a fast one', async () => {
    const h = setupEngine();
    for (let i = 0; i < 3; i++) {
      h.provider.script('slow', ok('slow answer', { ttftMs: 800 }));
      await h.run(['slow'], { purpose: 'chat' });
    }
    h.provider.script('fast', ok('fast answer', { ttftMs: 50 }));
    const o = await h.run(['slow', 'fast'], { purpose: 'inline', budgetMs: 400 });
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/fast');
    assert.equal(o.r.attempts[0]?.model, 'fake/fast', 'the fast model went first');
  });
});
