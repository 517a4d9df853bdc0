// One model's circuit breaker, as a pure state machine over explicit `now` values (resilience4j's
// count-based breaker plus Envoy-style consecutive-failure ejection):
//   closed ──(N consecutive failures, or failure rate over the sliding window)──▶ open
//   open ──(cooldown elapsed)──▶ half_open ──(the single probe succeeds)──▶ closed
//                                   └──────(the probe fails)──▶ open, with a longer cooldown
// Recovery in seconds (docs/architecture.md, "Recovery"): the first cooldown is short (cooldownMs,
// 2 s by default) and doubles per failed probe up to maxCooldownMs (8 s): a model that is down is
// probed by one request at most once per cooldown, and one that came back carries traffic again
// within maxCooldownMs of recovering, however long the outage was.
// A 429 does not trip the breaker: it pauses the model ("cooling down") until its Retry-After.
import { humanDuration, humanWait } from '../../protocol/humanTime';
import type { CircuitState, FailureKind } from '../../protocol/types';
import type { SharedCircuitEvent } from './sharedHealth';

export interface CircuitConfig {
  failureThreshold: number;
  cooldownMs: number;
  maxCooldownMs: number;
  failureRateThreshold: number;
  windowSize: number;
  minRequests: number;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

/** Failures that say something about the model/route. The rest are about the request itself. */
export const COUNTS_AGAINST_MODEL: ReadonlySet<FailureKind> = new Set([
  'server_error',
  'network',
  'timeout',
  'stream_interrupted',
  'model_load',
  'out_of_memory',
  'model_missing',
  'unknown',
]);

/** First 429-without-Retry-After pause; doubles per consecutive 429, capped at the longest cooldown. */
export const RATE_LIMIT_BASE_COOLDOWN_MS = 1000;
/** A probe that neither reports nor is released within this long is presumed lost (a leak must not wedge a model). */
export const PROBE_LEASE_MS = 180_000;
/** While a probe runs, callers are told to ask again after this long. */
export const PROBE_BUSY_RETRY_MS = 1000;
/** "degraded": still closed, but one of the last few calls failed. */
export const DEGRADED_RECENT_CALLS = 5;
const MAX_COOLDOWN_DOUBLINGS = 30;

export interface CircuitSnapshot {
  state: BreakerState;
  consecutiveFailures: number;
  /** Most recent last; true = success. Only calls that count for the model. */
  window: boolean[];
  /** Opens since the circuit was last closed by a successful probe: drives cooldown growth. */
  opens: number;
  openUntil?: number;
  coolingUntil?: number;
  rateLimitStreak: number;
}

export type Admission = { ok: true; probe: boolean } | { ok: false; until: number; reason: string };

export class Circuit {
  private s: CircuitSnapshot;
  private probeSince: number | undefined;

  constructor(snapshot?: CircuitSnapshot) {
    this.s = snapshot
      ? { ...snapshot, window: [...snapshot.window] }
      : { state: 'closed', consecutiveFailures: 0, window: [], opens: 0, rateLimitStreak: 0 };
  }

  snapshot(): CircuitSnapshot {
    return { ...this.s, window: [...this.s.window] };
  }

  /** The fields other daemons hear about (no copy of the window: this runs on every call). */
  marks(): { state: BreakerState; openUntil: number | undefined; coolingUntil: number | undefined; opens: number } {
    const { state, openUntil, coolingUntil, opens } = this.s;
    return { state, openUntil, coolingUntil, opens };
  }

  /**
   * What another daemon learnt (docs/team.md): an opening later than ours replaces ours, a probe that
   * succeeded elsewhere closes ours, a longer pause extends ours. Returns why, when anything changed.
   */
  adopt(ev: SharedCircuitEvent, now: number, cfg: CircuitConfig): string | undefined {
    if (ev.type === 'cooling') {
      if ((this.s.coolingUntil ?? 0) >= ev.until || ev.until <= now) return undefined;
      this.s.coolingUntil = ev.until;
      return `another daemon was rate limited; cooling down for ${humanWait(ev.until - now)}`;
    }
    if (ev.type === 'closed') {
      if (this.s.state === 'closed') return undefined;
      this.s = { state: 'closed', consecutiveFailures: 0, window: [], opens: 0, rateLimitStreak: 0 };
      this.probeSince = undefined;
      return 'a probe from another daemon succeeded';
    }
    if (ev.until <= now) return undefined;
    const until = Math.min(ev.until, now + longestCooldown(cfg));
    if (this.s.state === 'open' && (this.s.openUntil ?? 0) >= until) return undefined;
    this.s.state = 'open';
    this.s.openUntil = until;
    this.s.opens = Math.max(this.s.opens, ev.opens);
    this.probeSince = undefined;
    return `circuit opened by another daemon; skipped for ${humanDuration(Math.max(0, until - now))}`;
  }

  get consecutiveFailures(): number {
    return this.s.consecutiveFailures;
  }

  /** How many recent calls recentSuccessRate counts. */
  recentCalls(): number {
    return this.s.window.length;
  }

  /** Share of successes among the recent counted calls; undefined before any. */
  recentSuccessRate(): number | undefined {
    const n = this.s.window.length;
    return n === 0 ? undefined : this.s.window.filter(Boolean).length / n;
  }

  /**
   * Time-driven transitions (open → half_open). Returns why, when the state moved. With `cfg`, an
   * open circuit is never kept out longer than the longest cooldown configured now: a cooldown
   * persisted under older, longer settings (or before maxCooldownMs was lowered) is cut short.
   */
  refresh(now: number, cfg?: CircuitConfig): string | undefined {
    if (cfg && this.s.state === 'open' && (this.s.openUntil ?? 0) > now + longestCooldown(cfg)) {
      this.s.openUntil = now + longestCooldown(cfg);
    }
    if (this.s.state === 'open' && now >= (this.s.openUntil ?? 0)) {
      this.s.state = 'half_open';
      this.probeSince = undefined;
      return 'cooldown elapsed; the next call is a probe';
    }
    if (this.probeSince !== undefined && now - this.probeSince > PROBE_LEASE_MS) this.probeSince = undefined;
    return undefined;
  }

  /** Why the model may not be called at `now`, without taking anything. */
  blocked(now: number): { until: number; reason: string } | undefined {
    const openUntil = this.s.state === 'open' ? (this.s.openUntil ?? 0) : 0;
    const coolingUntil = this.s.coolingUntil ?? 0;
    if (openUntil > now)
      return {
        until: Math.max(openUntil, coolingUntil),
        reason: `circuit open after repeated failures; next try in ${humanWait(openUntil - now)}`,
      };
    if (coolingUntil > now)
      return { until: coolingUntil, reason: `rate limited; cooling down for ${humanWait(coolingUntil - now)}` };
    const probeBusy =
      this.s.state === 'half_open' && this.probeSince !== undefined && now - this.probeSince <= PROBE_LEASE_MS;
    if (probeBusy)
      return { until: now + PROBE_BUSY_RETRY_MS, reason: 'recovering: a probe request is already testing this model' };
    return undefined;
  }

  admit(now: number): Admission {
    this.refresh(now);
    const b = this.blocked(now);
    if (b) return { ok: false, ...b };
    if (this.s.state === 'half_open') {
      this.probeSince = now;
      return { ok: true, probe: true };
    }
    return { ok: true, probe: false };
  }

  releaseProbe(): void {
    this.probeSince = undefined;
  }

  success(cfg: CircuitConfig): string | undefined {
    const wasHalfOpen = this.s.state === 'half_open';
    this.s.consecutiveFailures = 0;
    this.s.rateLimitStreak = 0;
    this.s.coolingUntil = undefined;
    this.probeSince = undefined;
    if (wasHalfOpen || this.s.state === 'open') {
      // A fresh start: the failures that opened the circuit must not re-open it on the next blip.
      this.s = { state: 'closed', consecutiveFailures: 0, window: [true], opens: 0, rateLimitStreak: 0 };
      return 'probe succeeded';
    }
    this.s.window.push(true);
    this.trim(cfg);
    return undefined;
  }

  /** A failure that counts against the model (see COUNTS_AGAINST_MODEL). Returns why, when it opened. */
  failure(now: number, cfg: CircuitConfig): string | undefined {
    this.s.consecutiveFailures++;
    this.s.window.push(false);
    this.trim(cfg);
    // A call that began before the circuit opened and fails now: the circuit is open already.
    if (this.s.state === 'open') return undefined;
    if (this.s.state === 'half_open') return this.open(now, cfg, 'probe failed', this.probeSince);
    if (this.s.consecutiveFailures >= cfg.failureThreshold)
      return this.open(now, cfg, `${this.s.consecutiveFailures} consecutive failures`);
    const n = this.s.window.length;
    const rate = this.s.window.filter((ok) => !ok).length / Math.max(1, n);
    if (n >= cfg.minRequests && rate > cfg.failureRateThreshold) {
      return this.open(now, cfg, `failure rate ${Math.round(rate * 100)}% over the last ${n} calls`);
    }
    return undefined;
  }

  /** A 429: pause the model until Retry-After (or a growing default), without tripping the breaker. */
  rateLimited(now: number, cfg: CircuitConfig, retryAfterMs: number | undefined): string {
    this.s.rateLimitStreak++;
    this.probeSince = undefined;
    const exp = Math.min(this.s.rateLimitStreak - 1, MAX_COOLDOWN_DOUBLINGS);
    const pauseMs = retryAfterMs ?? Math.min(RATE_LIMIT_BASE_COOLDOWN_MS * 2 ** exp, longestCooldown(cfg));
    this.s.coolingUntil = Math.max(this.s.coolingUntil ?? 0, now + Math.max(0, pauseMs));
    return retryAfterMs === undefined
      ? `rate limited; pausing for ${humanDuration(pauseMs)}`
      : `rate limited; the provider asked to retry in ${humanWait(retryAfterMs)}`;
  }

  /** Public state at `now` (call refresh first: an elapsed cooldown reads open until then, so the move is reported). */
  publicState(now: number): CircuitState {
    if (this.s.state === 'open') return 'open';
    if (this.s.state === 'half_open') return 'half_open';
    const recentFailure = this.s.window.slice(-DEGRADED_RECENT_CALLS).includes(false);
    return recentFailure || (this.s.coolingUntil ?? 0) > now ? 'degraded' : 'healthy';
  }

  /** When the model stops being refused for circuit or 429 reasons (undefined if it is not). */
  cooldownUntil(now: number): number | undefined {
    const until = Math.max(this.s.state === 'open' ? (this.s.openUntil ?? 0) : 0, this.s.coolingUntil ?? 0);
    return until > now ? until : undefined;
  }

  /**
   * Open for the current cooldown. After a failed probe the interval runs from the probe's START, so a
   * probe that hung until its deadline is not followed by a whole further cooldown (one probe per
   * interval, start to start), but never less than the first cooldown after its end.
   */
  private open(now: number, cfg: CircuitConfig, why: string, probeStartedAt?: number): string {
    this.s.opens++;
    const exp = Math.min(this.s.opens - 1, MAX_COOLDOWN_DOUBLINGS);
    const cooldownMs = Math.min(cfg.cooldownMs * 2 ** exp, longestCooldown(cfg));
    this.s.state = 'open';
    this.s.openUntil =
      probeStartedAt === undefined
        ? now + cooldownMs
        : Math.max(probeStartedAt + cooldownMs, now + Math.min(cfg.cooldownMs, cooldownMs));
    this.probeSince = undefined;
    return `${why}; skipped for ${humanDuration(this.s.openUntil - now)}`;
  }

  private trim(cfg: CircuitConfig): void {
    const excess = this.s.window.length - Math.max(1, cfg.windowSize);
    if (excess > 0) this.s.window.splice(0, excess);
  }
}

/** The longest a model is kept out: maxCooldownMs, or cooldownMs when that is configured longer. */
export function longestCooldown(cfg: CircuitConfig): number {
  return Math.max(cfg.maxCooldownMs, cfg.cooldownMs);
}
