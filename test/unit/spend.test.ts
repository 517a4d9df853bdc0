// Spend and budgets, pure: prices (config over list prices, longest family prefix, local free), the
// ledger per UTC day and month with rollover and persistence, budget states (80 % warning, 100 % skip,
// reset time), and the cheapest ordering (by expected cost, ties by latency, unknown prices and refused
// models last).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { costOf, priceOf, SPEND_STORE_KEY, SpendLedger } from '../../server/core/spend';
import { orderByCost, type HealthView } from '../../server/core/strategies';
import type { Store } from '../../server/core/types';

const T = Date.parse('2025-06-10T23:00:00Z');
const HOUR = 3_600_000;

function memStore(): Store & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return {
    data,
    read: <V>(k: string) => structuredClone(data.get(k)) as V | undefined,
    write: (k, v) => void data.set(k, structuredClone(v)),
  };
}

describe('prices', () => {
  it('config by id, then by name, then the longest list-price prefix; local models are free', () => {
    const cfg = {
      'openai/gpt-4o': { inputPerMTok: 1, outputPerMTok: 2 },
      'my-model': { inputPerMTok: 5, outputPerMTok: 6 },
    };
    assert.deepEqual(priceOf('openai/gpt-4o', cfg, false), { inputPerMTok: 1, outputPerMTok: 2 });
    assert.deepEqual(priceOf('other/my-model', cfg, false), { inputPerMTok: 5, outputPerMTok: 6 });
    assert.deepEqual(priceOf('openai/gpt-4o-mini-2024-07-18', {}, false), { inputPerMTok: 0.15, outputPerMTok: 0.6 });
    assert.deepEqual(priceOf('claude/claude-3-5-haiku-latest', {}, false), { inputPerMTok: 0.8, outputPerMTok: 4 });
    assert.equal(priceOf('x/unknown-model', {}, false), undefined);
    assert.deepEqual(priceOf('local/anything', {}, true), { inputPerMTok: 0, outputPerMTok: 0 });
    assert.equal(costOf({ inputPerMTok: 2, outputPerMTok: 10 }, 1_000_000, 500_000), 7);
  });
});

describe('the ledger', () => {
  it('adds per model per UTC day and month; a new day starts at zero, the month goes on', () => {
    const l = new SpendLedger();
    l.record('openai', 'openai/a', 100, 50, 0.5, T);
    l.record('openai', 'openai/a', 10, 5, 0.25, T + 10);
    assert.deepEqual(l.rows('day', T), [
      { provider: 'openai', model: 'openai/a', requests: 2, inputTokens: 110, outputTokens: 55, usd: 0.75 },
    ]);
    l.record('openai', 'openai/a', 1, 1, 1, T + 2 * HOUR); // 2025-06-11
    assert.equal(l.rows('day', T + 2 * HOUR)[0]?.usd, 1);
    assert.equal(l.rows('month', T + 2 * HOUR)[0]?.usd, 1.75);
    assert.deepEqual(
      l.history().map((h) => h.day),
      ['2025-06-10', '2025-06-11'],
    );
  });

  it('is persisted through the store and read back; garbage in the store is ignored', () => {
    const store = memStore();
    new SpendLedger(store).record('p', 'p/m', 3, 4, 0.1, T);
    assert.equal(new SpendLedger(store).rows('day', T)[0]?.inputTokens, 3);
    store.data.set(SPEND_STORE_KEY, { days: { '2025-06-10': { x: 'nonsense' } }, months: 7 });
    assert.deepEqual(new SpendLedger(store).rows('day', T), []);
  });

  it('property: whatever the store holds, the ledger starts and its rows are non-negative numbers', () => {
    fc.assert(
      fc.property(fc.anything(), (raw) => {
        const store = memStore();
        store.data.set(SPEND_STORE_KEY, raw);
        const l = new SpendLedger(store);
        for (const r of [...l.rows('day', T), ...l.rows('month', T)])
          for (const v of [r.requests, r.inputTokens, r.outputTokens, r.usd]) assert.ok(Number.isFinite(v) && v >= 0);
        return true;
      }),
    );
  });
});

describe('budgets', () => {
  it('80 % warns, 100 % blocks the provider with a reason, until the period rolls over', () => {
    const l = new SpendLedger();
    const budgets = [{ provider: 'openai', period: 'day' as const, usd: 1 }];
    l.record('openai', 'openai/a', 0, 0, 0.79, T);
    assert.equal(l.budgetStates(budgets, T)[0]?.warning, false);
    l.record('openai', 'openai/a', 0, 0, 0.01, T);
    const warned = l.budgetStates(budgets, T)[0];
    assert.equal(warned?.warning, true);
    assert.equal(warned?.exceeded, false);
    assert.equal(l.blocked('openai', budgets, T), undefined);
    l.record('openai', 'openai/a', 0, 0, 0.2, T);
    assert.match(
      l.blocked('openai', budgets, T) ?? '',
      /^budget: openai spent \$1\.00 of its \$1\.00 this day; skipped until 2025-06-11T00:00:00\.000Z/,
    );
    assert.equal(l.blocked('anthropic', budgets, T), undefined, 'other providers go on');
    assert.equal(l.blocked('openai', budgets, T + 2 * HOUR), undefined, 'a new day');
  });

  it('a token budget counts input and output tokens; a monthly one resets on the 1st', () => {
    const l = new SpendLedger();
    const budgets = [{ provider: 'p', period: 'month' as const, tokens: 100 }];
    l.record('p', 'p/m', 60, 40, 0, T);
    const s = l.budgetStates(budgets, T)[0];
    assert.equal(s?.exceeded, true);
    assert.equal(s?.resetsAt, '2025-07-01T00:00:00.000Z');
    assert.match(l.blocked('p', budgets, T) ?? '', /used 100 of its 100 tokens this month/);
  });
});

describe('cheapest', () => {
  const health = (latency: Record<string, number>, blocked: string[] = []): HealthView => ({
    blocked: (m) => (blocked.includes(m) ? { until: 0, reason: 'open' } : undefined),
    recentSuccessRate: () => undefined,
    latencyEwma: (m) => latency[m],
    ttftP95: () => undefined,
  });
  it('orders by expected cost, ties by latency, unknown prices after priced ones, refused models last', () => {
    const cost: Record<string, number | undefined> = { a: 0.01, b: 0.001, c: 0, d: undefined, e: 0.001, f: 0 };
    const order = orderByCost(['a', 'b', 'c', 'd', 'e', 'f'], health({ b: 300, e: 100 }, ['f']), (m) => cost[m]);
    assert.deepEqual(order, ['c', 'e', 'b', 'a', 'd', 'f']);
  });
});
