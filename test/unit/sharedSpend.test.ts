// Shared spend counters (issue 20): budgets count the team's spend when it is known and larger than
// this daemon's own, and the counters are keyed per provider and UTC period.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpendLedger } from '../../server/core/spend';
import { SharedSpend, spendKey } from '../../server/shared/sharedSpend';

const AT = Date.UTC(2026, 11, 5, 23, 59, 0);

describe('shared spend', () => {
  it('a budget counts the larger of this ledger and the team total', () => {
    const ledger = new SpendLedger();
    ledger.record('p', 'p/m', 100, 50, 0.2, AT);
    const budgets = [{ provider: 'p', period: 'day' as const, usd: 1, tokens: 1000 }];
    const alone = ledger.budgetStates(budgets, AT)[0]!;
    assert.deepEqual([alone.spentUsd, alone.spentTokens, alone.exceeded], [0.2, 150, false]);
    const team = ledger.budgetStates(budgets, AT, () => ({ usd: 1.5, tokens: 900 }))[0]!;
    assert.deepEqual([team.spentUsd, team.spentTokens, team.exceeded], [1.5, 900, true]);
    const behind = ledger.budgetStates(budgets, AT, () => ({ usd: 0.1, tokens: 10 }))[0]!;
    assert.deepEqual([behind.spentUsd, behind.spentTokens], [0.2, 150], 'counters that began later never lower it');
    assert.match(ledger.blocked('p', budgets, AT, () => ({ usd: 1.5, tokens: 0 })) ?? '', /^budget: p spent \$1\.50/);
  });

  it('counters are per provider and UTC day or month; nothing is known without Redis', () => {
    assert.equal(spendKey('day', 'openai', AT), 'spend:day:2026-12-05:openai');
    assert.equal(spendKey('month', 'openai', AT), 'spend:month:2026-12:openai');
    assert.equal(spendKey('day', 'openai', AT + 60_000), 'spend:day:2026-12-06:openai');
    const shared = new SharedSpend({
      client: () => undefined,
      configured: () => true,
      reportError: () => assert.fail('no call without a client'),
      now: () => AT,
      budgeted: () => ['openai'],
    });
    shared.add('openai', 10, 0.01, AT);
    assert.equal(shared.totals('openai', 'day', AT), undefined);
  });
});
