// Whether each purpose's latency budget holds: the first-token times of its recent answered requests,
// kept in a small ring per purpose, summarised as the share within budget and the p95. Pure.
import type { Purpose } from '../../protocol/enums';

/** Recent requests kept per purpose. */
export const PURPOSE_WINDOW = 200;

export interface PurposeSummary {
  /** Answered requests in the window. */
  requests: number;
  /** Share of them whose first token came within the budget (absent without a budget or requests). */
  withinBudget?: number;
  /** p95 first-token time over the window, ms (absent without requests). */
  p95FirstTokenMs?: number;
}

export class PurposeStats {
  private readonly rings = new Map<Purpose, { ms: number[]; next: number }>();

  record(purpose: Purpose, firstTokenMs: number): void {
    let r = this.rings.get(purpose);
    if (!r) this.rings.set(purpose, (r = { ms: [], next: 0 }));
    if (r.ms.length < PURPOSE_WINDOW) r.ms.push(firstTokenMs);
    else r.ms[r.next] = firstTokenMs;
    r.next = (r.next + 1) % PURPOSE_WINDOW;
  }

  summary(purpose: Purpose, budgetMs: number | null): PurposeSummary {
    const ms = this.rings.get(purpose)?.ms ?? [];
    if (ms.length === 0) return { requests: 0 };
    const sorted = [...ms].sort((a, b) => a - b);
    const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)] ?? 0;
    const out: PurposeSummary = { requests: ms.length, p95FirstTokenMs: Math.round(p95) };
    if (budgetMs !== null) out.withinBudget = ms.filter((x) => x <= budgetMs).length / ms.length;
    return out;
  }
}

/**
 * The chain entries a purpose uses when the request names none: its own, inline's legacy inline.chain,
 * or the main chain.
 */
export function purposeChain(
  cfg: { chain: string[]; inline: { chain: string[] }; purposes: Record<Purpose, { chain: string[] }> },
  purpose: Purpose | undefined,
): string[] {
  if (purpose === undefined) return cfg.chain;
  const own = cfg.purposes[purpose].chain;
  if (own.length) return own;
  if (purpose === 'inline' && cfg.inline.chain.length) return cfg.inline.chain;
  return cfg.chain;
}
