// Spend counters shared by the team (issue 20): the tokens and dollars of each answered request on a
// budgeted provider are added to one hash per provider and UTC day or month on Redis (HINCRBY, expiring
// at the period's end), so a budget holds across every daemon. Budgets read a local copy, refreshed by
// each addition's answer and every SPEND_REFRESH_MS, never awaited by a request. While Redis is away the
// additions wait here (summed per counter) and go out when it returns; budgets then use the daemon's
// own ledger.
import type Redis from 'ioredis';
import { dayKey, monthKey, type Period, periodEnd } from '../core/spend';

/** How often a daemon reads the team's counters of its budgeted providers. */
export const SPEND_REFRESH_MS = 2000;
/** Dollars are kept as integer nano-dollars: HINCRBY is exact where float sums drift. */
const NANO = 1e9;
/** A counter outlives its period by this much, for a daemon whose clock lags. */
const KEY_GRACE_MS = 60 * 60_000;
const PERIODS: readonly Period[] = ['day', 'month'];

export interface SpendTotals {
  usd: number;
  tokens: number;
}

export interface SharedSpendDeps {
  /** The team's Redis connection while usable (TeamState.client). */
  client(): { redis: Redis; prefix: string } | undefined;
  /** Whether team state is configured at all: without it nothing is kept for later. */
  configured(): boolean;
  reportError(e: unknown): void;
  now(): number;
  /** The providers that have a budget: only their counters are shared and read. */
  budgeted(): readonly string[];
}

interface Pending {
  nusd: number;
  tokens: number;
  expireAt: number;
}

/** The counter of a provider for the period that holds `ms` (without the team prefix). */
export function spendKey(period: Period, provider: string, ms: number): string {
  return `spend:${period}:${period === 'day' ? dayKey(ms) : monthKey(ms)}:${provider}`;
}

export class SharedSpend {
  private readonly cache = new Map<string, SpendTotals>();
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: SharedSpendDeps) {}

  start(): void {
    this.timer ??= setInterval(() => void this.refresh(), SPEND_REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** An answered request on `provider`: add its tokens and dollars to the team's counters. */
  add(provider: string, tokens: number, usd: number, ms: number): void {
    if (!this.deps.configured() || !this.deps.budgeted().includes(provider)) return;
    for (const period of PERIODS) {
      const key = spendKey(period, provider, ms);
      const p = this.pending.get(key) ?? { nusd: 0, tokens: 0, expireAt: periodEnd(period, ms) + KEY_GRACE_MS };
      p.nusd += Math.round(usd * NANO);
      p.tokens += Math.round(tokens);
      this.pending.set(key, p);
    }
    this.flush();
  }

  /** The team's totals for the period that holds `ms`; undefined while Redis is away or not yet read. */
  totals(provider: string, period: Period, ms: number): SpendTotals | undefined {
    return this.deps.client() ? this.cache.get(spendKey(period, provider, ms)) : undefined;
  }

  /** Send what is pending, then read the counters of every budgeted provider for the current periods. */
  async refresh(): Promise<void> {
    const c = this.deps.client();
    if (!c) return;
    this.flush();
    const now = this.deps.now();
    const keys = this.deps.budgeted().flatMap((p) => PERIODS.map((period) => spendKey(period, p, now)));
    if (keys.length === 0) return;
    const tx = c.redis.pipeline();
    for (const k of keys) tx.hmget(c.prefix + k, 'nusd', 'tokens');
    try {
      const replies = (await tx.exec()) ?? [];
      this.cache.clear();
      keys.forEach((k, i) => {
        const [err, v] = replies[i] ?? [null, null];
        if (!err) this.cache.set(k, totalsOf(v as (string | null)[]));
      });
    } catch (e) {
      this.deps.reportError(e);
    }
  }

  /**
   * Send the pending additions, each as one transaction that answers the counter's new totals. A failed
   * send is kept for the next one (a reply lost after Redis applied it counts twice: budgets err on the
   * side of stopping early).
   */
  private flush(): void {
    const c = this.deps.client();
    if (!c || this.pending.size === 0) return;
    const batch = [...this.pending];
    this.pending.clear();
    for (const [key, p] of batch) {
      c.redis
        .multi()
        .hincrby(c.prefix + key, 'nusd', p.nusd)
        .hincrby(c.prefix + key, 'tokens', p.tokens)
        .pexpireat(c.prefix + key, p.expireAt)
        .exec()
        .then((r) => {
          const [nusd, tokens] = [r?.[0]?.[1], r?.[1]?.[1]];
          if (typeof nusd === 'number' && typeof tokens === 'number') this.cache.set(key, totalsOf([nusd, tokens]));
        })
        .catch((e: unknown) => {
          const q = this.pending.get(key);
          this.pending.set(key, q ? { ...q, nusd: q.nusd + p.nusd, tokens: q.tokens + p.tokens } : p);
          this.deps.reportError(e);
        });
    }
  }
}

function totalsOf([nusd, tokens]: readonly (string | number | null | undefined)[]): SpendTotals {
  const n = (v: string | number | null | undefined) => (v == null ? 0 : Number(v) || 0);
  return { usd: n(nusd) / NANO, tokens: n(tokens) };
}
