// How a chain becomes an order of models: sequential keeps the user's order; load_balanced sorts
// by measured health and spreads traffic across equally healthy models; fastest races them all
// (the race itself lives in the request runner). Also the small sizing rules the engine applies
// to a request: the context a prompt needs, and when to hedge.
import type { Strategy } from '../../protocol/types';
import type { Config } from '../../protocol/config';

/** The health facts the ordering reads (a HealthRegistry has them). */
export interface HealthView {
  blocked(model: string): { until: number; reason: string } | undefined;
  recentSuccessRate(model: string): number | undefined;
  latencyEwma(model: string): number | undefined;
  ttftP95(model: string): number | undefined;
}

/** How much a full latency gap (slowest vs 0 ms) weighs against success rate in load_balanced. */
export const LB_LATENCY_WEIGHT = 0.3;
/** Scores this close count as equally healthy: traffic is spread among them at random. */
export const LB_TIE_EPSILON = 0.05;

export function dedupe(chain: readonly string[]): string[] {
  return [...new Set(chain)];
}

export function orderChain(
  strategy: Strategy,
  chain: readonly string[],
  health: HealthView,
  random: () => number,
  cost?: (model: string) => number | undefined,
): string[] {
  const models = dedupe(chain);
  if (strategy === 'load_balanced') return orderByHealth(models, health, random);
  if (strategy === 'cheapest') return orderByCost(models, health, cost ?? (() => undefined));
  return models;
}

/**
 * `cheapest`: callable models by the request's expected cost, ties by latency (unmeasured ones keep
 * their chain order among equals); models without a known price after the priced ones; models health
 * refuses last, in chain order.
 */
export function orderByCost(
  models: readonly string[],
  health: HealthView,
  cost: (model: string) => number | undefined,
): string[] {
  const callable = models.filter((m) => !health.blocked(m));
  const refused = models.filter((m) => health.blocked(m));
  const scored = callable.map((m, i) => ({
    m,
    i,
    cost: cost(m) ?? Number.POSITIVE_INFINITY,
    latency: health.latencyEwma(m) ?? Number.POSITIVE_INFINITY,
  }));
  scored.sort((a, b) => a.cost - b.cost || (a.latency === b.latency ? 0 : a.latency - b.latency) || a.i - b.i);
  return [...scored.map((s) => s.m), ...refused];
}

/**
 * Callable models by score (recent success rate minus a latency penalty), best first; equally
 * healthy ones shuffled so they share the load; models health refuses last, in chain order
 * (they are skipped, but keep their place in the attempts for the caller to see).
 */
export function orderByHealth(models: readonly string[], health: HealthView, random: () => number): string[] {
  const callable = models.filter((m) => !health.blocked(m));
  const refused = models.filter((m) => health.blocked(m));
  const known = callable.map((m) => health.latencyEwma(m)).filter((x): x is number => x !== undefined);
  const maxLatency = Math.max(1, ...known);
  // An unmeasured model is assumed average, so it gets a share and is measured.
  const neutralLatency = known.length ? known.reduce((a, b) => a + b, 0) / known.length : 0;
  const scored = callable.map((m, i) => {
    const rate = health.recentSuccessRate(m) ?? 1;
    const latency = health.latencyEwma(m) ?? neutralLatency;
    return { m, i, score: rate - LB_LATENCY_WEIGHT * (latency / maxLatency) };
  });
  scored.sort((a, b) => b.score - a.score || a.i - b.i);
  const out: string[] = [];
  for (let start = 0; start < scored.length;) {
    let end = start + 1;
    const lead = scored[start]?.score ?? 0;
    while (end < scored.length && lead - (scored[end]?.score ?? 0) <= LB_TIE_EPSILON) end++;
    out.push(
      ...shuffle(
        scored.slice(start, end).map((s) => s.m),
        random,
      ),
    );
    start = end;
  }
  return [...out, ...refused];
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(random() * (i + 1)));
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
  return items;
}

export { estimateContextTokens } from './requirements';

/**
 * After a context overflow: may this model take the request? An unknown context length is
 * tried (only the provider can tell); a known one must fit the estimate and be larger than the
 * context that already overflowed (the estimate is rough; the overflow was not).
 */
export function fitsAfterOverflow(
  contextLength: number | undefined,
  neededTokens: number,
  overflowedContext: number | undefined,
): boolean {
  if (contextLength === undefined) return true;
  if (overflowedContext !== undefined && contextLength <= overflowedContext) return false;
  return contextLength >= neededTokens;
}

/** When to start a hedge for this model; undefined = do not hedge (disabled, or no p95 measured yet). */
export function hedgeDelayMs(hedging: Config['hedging'], health: HealthView, model: string): number | undefined {
  if (!hedging.enabled) return undefined;
  return hedging.delayMs === 'p95' ? health.ttftP95(model) : hedging.delayMs;
}

/**
 * A latency budget: models whose recent p95 first-token time exceeds it go last (in their order), so
 * a model known to be too slow for the purpose is tried only when the others cannot answer.
 */
export function orderForBudget(models: readonly string[], health: HealthView, budgetMs: number | undefined): string[] {
  if (budgetMs === undefined) return [...models];
  const over = (m: string) => (health.ttftP95(m) ?? 0) > budgetMs;
  return [...models.filter((m) => !over(m)), ...models.filter(over)];
}

/** When to hedge: the hedging setting's delay or the request's latency budget, whichever comes first. */
export function hedgeAfterMs(
  hedging: Config['hedging'],
  health: HealthView,
  model: string,
  budgetMs: number | undefined,
): number | undefined {
  const delay = hedgeDelayMs(hedging, health, model);
  if (budgetMs === undefined) return delay;
  return delay === undefined ? budgetMs : Math.min(delay, budgetMs);
}
