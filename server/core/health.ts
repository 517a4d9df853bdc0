// Per-model health: the circuit breaker (circuit.ts) plus counters and latency statistics,
// exposed in the protocol's ModelHealth shape and persisted through a Store so a restart
// neither forgets an outage nor forgives it early.
import type { CircuitState, FailureKind, ModelHealth } from '../../protocol/types';
import { Circuit, COUNTS_AGAINST_MODEL, type Admission, type CircuitConfig, type CircuitSnapshot } from './circuit';
import type { Clock, Store } from './types';
import { restoreHealth, type PersistedModel } from './healthPersistence';
import type { SharedCircuitEvent, SharedHealth } from './sharedHealth';

export type { CircuitConfig } from './circuit';

export const HEALTH_STORE_KEY = 'health';
/** Weight of the newest sample in the latency EWMA: ~the last 10 calls dominate. */
export const LATENCY_EWMA_ALPHA = 0.2;
/** Latency/TTFT samples kept for percentiles. */
export const LATENCY_SAMPLES = 100;
/** Fewer TTFT samples than this give no p95 (hedging on noise would double traffic for nothing). */
export const MIN_TTFT_SAMPLES = 5;

export interface HealthDeps {
  clock: Clock;
  config: () => CircuitConfig;
  store?: Store;
  onTransition?: (model: string, from: CircuitState, to: CircuitState, why: string) => void;
  /** The team's shared state (server/shared/ on Redis); absent, this daemon learns alone. */
  shared?: SharedHealth;
}

/** While another daemon probes a model, ask again after this long (its result arrives by pub/sub). */
export const SHARED_PROBE_BUSY_RETRY_MS = 500;

interface ModelRecord extends Omit<PersistedModel, 'circuit'> {
  circuit: Circuit;
}

export class HealthRegistry {
  private readonly models = new Map<string, ModelRecord>();
  /** The last successful call: the model that served the latest answer (not persisted: "since start"). */
  private served: { model: string; at: number } | undefined;

  constructor(private readonly deps: HealthDeps) {
    for (const [model, p] of Object.entries(restoreHealth(deps.store?.read<unknown>(HEALTH_STORE_KEY)))) {
      this.models.set(model, { ...p, circuit: new Circuit(p.circuit) });
    }
  }

  /** May this model be called now? `probe: true` = the half-open probe slot is now taken by the caller. */
  admit(model: string): Admission {
    const r = this.models.get(model);
    if (!r) return { ok: true, probe: false };
    // Not persisted: a probe slot means nothing after a restart, and this runs on every request.
    this.refresh(model, r);
    const now = this.deps.clock.now();
    const adm = r.circuit.admit(now);
    // One probe per interval across the team: the shared lease decides which daemon sends it.
    if (adm.ok && adm.probe && this.deps.shared?.probeLease(model, true) === 'busy') {
      r.circuit.releaseProbe();
      return { ok: false, until: now + SHARED_PROBE_BUSY_RETRY_MS, reason: SHARED_PROBE_BUSY };
    }
    return adm;
  }

  /** Why the model is refused right now, without taking a probe slot; undefined = callable. */
  blocked(model: string): { until: number; reason: string } | undefined {
    const r = this.models.get(model);
    if (!r) return undefined;
    this.refresh(model, r);
    const now = this.deps.clock.now();
    const b = r.circuit.blocked(now);
    if (b || r.circuit.marks().state !== 'half_open') return b;
    return this.deps.shared?.probeLease(model, false) === 'busy'
      ? { until: now + SHARED_PROBE_BUSY_RETRY_MS, reason: SHARED_PROBE_BUSY }
      : undefined;
  }

  /** What another daemon learnt about a model (server/shared/ calls this for every message it hears). */
  applyShared(model: string, ev: SharedCircuitEvent): void {
    this.mutate(model, (r, now) => ({ result: undefined, why: r.circuit.adopt(ev, now, this.deps.config()) }), false);
  }

  /** An admitted probe that was never run (request cancelled before the call). */
  releaseProbe(model: string): void {
    this.models.get(model)?.circuit.releaseProbe();
    this.deps.shared?.releaseProbe(model);
  }

  onSuccess(model: string, latencyMs: number, ttftMs?: number): void {
    this.served = { model, at: this.deps.clock.now() };
    this.mutate(model, (r) => {
      r.successCount++;
      r.needsKey = false;
      r.latencyEwma =
        r.latencyEwma === undefined ? latencyMs : r.latencyEwma + LATENCY_EWMA_ALPHA * (latencyMs - r.latencyEwma);
      pushSample(r.latencies, latencyMs);
      if (ttftMs !== undefined) pushSample(r.ttfts, ttftMs);
      this.deps.shared?.count(model, true);
      return { result: undefined, why: r.circuit.success(this.deps.config()) ?? 'call succeeded' };
    });
  }

  onFailure(model: string, kind: FailureKind, message: string, retryAfterMs?: number): void {
    // A cancelled call says nothing about the model; the caller releases its probe if it held one.
    if (kind === 'cancelled') return;
    this.mutate(model, (r, now) => {
      if (kind === 'rate_limited') {
        r.failureCount++;
        setLastFailure(r, kind, message, now);
        return { result: undefined, why: r.circuit.rateLimited(now, this.deps.config(), retryAfterMs) };
      }
      if (kind === 'auth') {
        r.needsKey = true;
        setLastFailure(
          r,
          kind,
          `API key missing or rejected: ${message}. Set the provider's key (its apiKeyEnv variable or "Backstop: Set API Key").`,
          now,
        );
      }
      if (!COUNTS_AGAINST_MODEL.has(kind)) {
        // About the request (or the key), not the model. A probe that met one proved nothing:
        // its holder releases it (only the holder knows it holds it).
        return { result: undefined, why: kind === 'auth' ? 'API key missing or rejected' : undefined };
      }
      r.failureCount++;
      setLastFailure(r, kind, message, now);
      this.deps.shared?.count(model, false);
      const opened = r.circuit.failure(now, this.deps.config());
      return { result: undefined, why: opened ?? `${kind}: ${message}` };
    });
  }

  /** The model that answered last, and when (ms): the "active model" a user sees. */
  lastServed(): { model: string; at: number } | undefined {
    return this.served;
  }

  get(model: string): ModelHealth {
    const r = this.models.get(model);
    if (!r)
      return {
        state: 'healthy',
        successCount: 0,
        failureCount: 0,
        consecutiveFailures: 0,
        successRate: 1,
        avgLatencyMs: null,
        p50LatencyMs: null,
        p95LatencyMs: null,
      };
    this.refresh(model, r);
    const now = this.deps.clock.now();
    const calls = r.successCount + r.failureCount;
    const sorted = [...r.latencies].sort((a, b) => a - b);
    const h: ModelHealth = {
      state: this.publicState(r, now),
      successCount: r.successCount,
      failureCount: r.failureCount,
      consecutiveFailures: r.circuit.consecutiveFailures,
      successRate: calls === 0 ? 1 : r.successCount / calls,
      avgLatencyMs: r.latencyEwma === undefined ? null : Math.round(r.latencyEwma),
      p50LatencyMs: percentile(sorted, 0.5) ?? null,
      p95LatencyMs: percentile(sorted, 0.95) ?? null,
    };
    const until = r.circuit.cooldownUntil(now);
    if (until !== undefined) h.cooldownUntil = new Date(until).toISOString();
    if (r.lastFailure) h.lastFailure = r.lastFailure;
    if (r.lastFailureMessage) h.lastFailureMessage = r.lastFailureMessage;
    if (r.lastFailureAt !== undefined) h.lastFailureAt = new Date(r.lastFailureAt).toISOString();
    const recent = r.circuit.recentSuccessRate();
    if (recent !== undefined) {
      h.recentSuccessRate = recent;
      h.recentCalls = r.circuit.recentCalls();
    }
    if (r.needsKey) h.needsKey = true;
    return h;
  }

  all(): Record<string, ModelHealth> {
    const out: Record<string, ModelHealth> = {};
    for (const model of [...this.models.keys()].sort()) out[model] = this.get(model);
    return out;
  }

  /** Earliest clock time at which any of these models becomes callable; undefined if one is callable now. */
  nextRecovery(models: string[]): number | undefined {
    let earliest: number | undefined;
    for (const m of models) {
      const b = this.blocked(m);
      if (!b) return undefined;
      earliest = earliest === undefined ? b.until : Math.min(earliest, b.until);
    }
    return earliest;
  }

  ttftP95(model: string): number | undefined {
    const t = this.models.get(model)?.ttfts ?? [];
    return t.length < MIN_TTFT_SAMPLES
      ? undefined
      : percentile(
          [...t].sort((a, b) => a - b),
          0.95,
        );
  }

  latencyEwma(model: string): number | undefined {
    return this.models.get(model)?.latencyEwma;
  }

  /** Share of successes over the circuit's sliding window (the recent past, unlike successRate). */
  recentSuccessRate(model: string): number | undefined {
    return this.models.get(model)?.circuit.recentSuccessRate();
  }

  reset(model?: string): void {
    const names = model === undefined ? [...this.models.keys()] : [model];
    for (const m of names) {
      const r = this.models.get(m);
      if (!r) continue;
      const from = this.publicState(r, this.deps.clock.now());
      this.models.delete(m);
      if (r.circuit.marks().state !== 'closed') this.deps.shared?.publish(m, { type: 'closed' });
      if (from !== 'healthy') this.deps.onTransition?.(m, from, 'healthy', 'health reset');
    }
    this.persist();
  }

  private record(model: string): ModelRecord {
    let r = this.models.get(model);
    if (!r) {
      r = { circuit: new Circuit(), successCount: 0, failureCount: 0, needsKey: false, latencies: [], ttfts: [] };
      this.models.set(model, r);
    }
    return r;
  }

  private publicState(r: ModelRecord, now: number): CircuitState {
    const s = r.circuit.publicState(now);
    return s === 'healthy' && r.needsKey ? 'degraded' : s;
  }

  private refresh(model: string, r: ModelRecord): void {
    const now = this.deps.clock.now();
    const from = this.publicState(r, now);
    const why = r.circuit.refresh(now, this.deps.config());
    if (why) this.emit(model, from, this.publicState(r, now), why);
  }

  /** Run a change to one model, then report a state transition, tell the team (local changes) and persist. */
  private mutate<T>(
    model: string,
    fn: (r: ModelRecord, now: number) => { result: T; why: string | undefined },
    local = true,
  ): T {
    const r = this.record(model);
    this.refresh(model, r);
    const now = this.deps.clock.now();
    const from = this.publicState(r, now);
    const before = r.circuit.marks();
    const { result, why } = fn(r, now);
    if (local && this.deps.shared) this.share(model, before, r.circuit.marks());
    this.emit(model, from, this.publicState(r, now), why ?? '');
    this.persist();
    return result;
  }

  private share(model: string, before: CircuitMarks, after: CircuitMarks): void {
    const shared = this.deps.shared;
    if (!shared) return;
    // The probe's result is out: the lease goes back for the next interval (before the news goes out).
    if (before.state === 'half_open' && after.state !== 'half_open') shared.releaseProbe(model);
    if (after.state === 'open' && (before.state !== 'open' || before.openUntil !== after.openUntil))
      shared.publish(model, { type: 'open', until: after.openUntil ?? 0, opens: after.opens });
    else if (after.state === 'closed' && before.state !== 'closed') shared.publish(model, { type: 'closed' });
    if ((after.coolingUntil ?? 0) > (before.coolingUntil ?? 0))
      shared.publish(model, { type: 'cooling', until: after.coolingUntil ?? 0 });
  }

  private emit(model: string, from: CircuitState, to: CircuitState, why: string): void {
    if (from !== to) this.deps.onTransition?.(model, from, to, why);
  }

  /** Hand the store a view that is serialised when the store writes (a file store coalesces writes, so
   *  once per flush instead of once per call): no copy of every model's samples on the request path. */
  private readonly persistable = { toJSON: () => this.persisted() };

  private persist(): void {
    this.deps.store?.write(HEALTH_STORE_KEY, this.persistable);
  }

  private persisted(): { version: 1; models: Record<string, PersistedModel> } {
    const models: Record<string, PersistedModel> = {};
    for (const [m, r] of this.models) {
      const { circuit, ...rest } = r;
      models[m] = {
        ...rest,
        latencies: [...r.latencies],
        ttfts: [...r.ttfts],
        circuit: circuit.snapshot() satisfies CircuitSnapshot,
      };
    }
    return { version: 1, models };
  }
}

type CircuitMarks = ReturnType<Circuit['marks']>;

/** Recovering, and the probe is another daemon's. */
const SHARED_PROBE_BUSY = 'recovering: another daemon is probing this model';

function setLastFailure(r: ModelRecord, kind: FailureKind, message: string, now: number): void {
  r.lastFailure = kind;
  r.lastFailureMessage = message;
  r.lastFailureAt = now;
}

function pushSample(samples: number[], v: number): void {
  samples.push(v);
  if (samples.length > LATENCY_SAMPLES) samples.splice(0, samples.length - LATENCY_SAMPLES);
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}
