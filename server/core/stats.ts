// Request counters since the state dir was created (protocol Stats), persisted through a Store.
import type { Stats } from '../../protocol/types';
import type { Store } from './types';

export const STATS_STORE_KEY = 'stats';

interface Counters {
  totalRequests: number;
  fallbackRequests: number;
  failedRequests: number;
  modelsUsed: Record<string, number>;
}

export class StatsRecorder {
  private c: Counters;

  constructor(private readonly store?: Store) {
    this.c = restore(store?.read<unknown>(STATS_STORE_KEY));
  }

  /** One finished request: the model that answered (none if it failed) and whether it fell back. */
  record(r: { modelUsed?: string; fallback: boolean; ok: boolean }): void {
    this.c.totalRequests++;
    if (r.fallback) this.c.fallbackRequests++;
    if (!r.ok) this.c.failedRequests++;
    if (r.ok && r.modelUsed) this.c.modelsUsed[r.modelUsed] = (this.c.modelsUsed[r.modelUsed] ?? 0) + 1;
    this.store?.write(STATS_STORE_KEY, { version: 1, ...this.c });
  }

  get(): Stats {
    const { totalRequests, fallbackRequests, failedRequests } = this.c;
    return {
      totalRequests,
      fallbackRequests,
      fallbackRate: totalRequests === 0 ? 0 : fallbackRequests / totalRequests,
      modelsUsed: { ...this.c.modelsUsed },
      failedRequests,
    };
  }
}

function restore(raw: unknown): Counters {
  const c: Counters = { totalRequests: 0, fallbackRequests: 0, failedRequests: 0, modelsUsed: {} };
  if (typeof raw !== 'object' || raw === null) return c;
  const r = raw as Record<string, unknown>;
  c.totalRequests = count(r.totalRequests);
  c.fallbackRequests = Math.min(count(r.fallbackRequests), c.totalRequests);
  c.failedRequests = Math.min(count(r.failedRequests), c.totalRequests);
  if (typeof r.modelsUsed === 'object' && r.modelsUsed !== null) {
    for (const [m, n] of Object.entries(r.modelsUsed)) if (count(n) > 0) c.modelsUsed[m] = count(n);
  }
  return c;
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0;
}
