// Spend and budgets, wired: the pure SpendLedger (server/core/spend.ts) fed with every answered request,
// asked by the engine before each call (a used-up provider is skipped, "budget: …") and by the cheapest
// strategy for a request's expected cost; its report is backstop/usage and Status.budgets.
import type { Config } from '../../protocol/config';
import type { CompleteResult, Status, UsageReport } from '../../protocol/types';
import type { EngineRequest, ResolvedModel } from '../core/engine';
import { CHARS_PER_TOKEN, DEFAULT_COMPLETION_TOKENS, estimateContextTokens } from '../core/requirements';
import { costOf, dayKey, DEFAULT_PRICES_DATE, monthKey, priceOf, SpendLedger, type TeamSpend } from '../core/spend';
import type { Clock, Store } from '../core/types';
import type { SharedSpend } from '../shared/sharedSpend';

export class SpendTracker {
  private readonly ledger: SpendLedger;

  constructor(
    private readonly clock: Clock,
    private readonly config: () => Config,
    private readonly resolve: (modelId: string) => ResolvedModel | undefined,
    store: Store | undefined,
    /** The team's counters on Redis (state.redis): budgets hold across every daemon. */
    private readonly shared?: Pick<SharedSpend, 'add' | 'totals'>,
  ) {
    this.ledger = new SpendLedger(store);
  }

  private team(): TeamSpend | undefined {
    const shared = this.shared;
    if (!shared) return undefined;
    const now = this.clock.now();
    return (provider, period) => shared.totals(provider, period, now);
  }

  /** An answered request: its tokens (as the provider reported them, else estimated) and their price. */
  record(req: Pick<EngineRequest, 'prompt' | 'suffix' | 'messages' | 'tools'>, r: CompleteResult): void {
    const model = this.resolve(r.modelUsed);
    if (!model) return;
    const input = r.usage?.promptTokens ?? estimateContextTokens({ ...req, maxTokens: 0 });
    const output = r.usage?.completionTokens ?? Math.ceil(r.text.length / CHARS_PER_TOKEN);
    const price = priceOf(r.modelUsed, this.config().prices, model.kind === 'local');
    const usd = price ? costOf(price, input, output) : 0;
    this.ledger.record(model.provider.id, r.modelUsed, input, output, usd, this.clock.now());
    this.shared?.add(model.provider.id, input + output, usd, this.clock.now());
  }

  /** EngineDeps.unavailable: a provider whose budget is used up is skipped until the period rolls over. */
  unavailable(model: ResolvedModel): { kind: 'rate_limited'; message: string } | undefined {
    const budgets = this.config().budgets;
    if (budgets.length === 0) return undefined;
    const message = this.ledger.blocked(model.provider.id, budgets, this.clock.now(), this.team());
    return message === undefined ? undefined : { kind: 'rate_limited', message };
  }

  /** EngineDeps.cost: the request's expected dollars on this model (prompt estimate + its max tokens). */
  expectedCost(modelId: string, req: EngineRequest): number | undefined {
    const model = this.resolve(modelId);
    if (!model) return undefined;
    const price = priceOf(modelId, this.config().prices, model.kind === 'local');
    if (!price) return undefined;
    return costOf(price, estimateContextTokens({ ...req, maxTokens: 0 }), req.maxTokens ?? DEFAULT_COMPLETION_TOKENS);
  }

  budgets(): Status['budgets'] {
    const budgets = this.config().budgets;
    return budgets.length ? this.ledger.budgetStates(budgets, this.clock.now(), this.team()) : undefined;
  }

  report(): UsageReport {
    const now = this.clock.now();
    return {
      day: { key: dayKey(now), rows: this.ledger.rows('day', now) },
      month: { key: monthKey(now), rows: this.ledger.rows('month', now) },
      budgets: this.ledger.budgetStates(this.config().budgets, now, this.team()),
      history: this.ledger.history(),
      pricesDate: DEFAULT_PRICES_DATE,
    };
  }
}
