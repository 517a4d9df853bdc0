// How long will a request wait? Per-model processing time (EWMA of slot-hold times, or a benchmark
// prior before any; per expected output tokens when known), the known queue replayed in dispatch order
// (running requests' remaining time, priority, aging, FIFO), the higher-priority work expected to
// arrive and jump ahead while it waits, plus download and cooldown time. Pure: time comes from the
// injected Clock.
import { PRIORITIES, type Priority, type WaitEstimate } from '../../protocol/types';
import type { Clock } from './types';

/** Weight of the newest sample. 0.2 lets roughly the last ten requests dominate: a model that slows
 *  down (thermal throttling, another app on the GPU) is tracked within a handful of requests, while one
 *  outlier moves the mean by only a fifth of its distance. Until 1/n < 0.2 the plain mean is used. */
export const EWMA_ALPHA = 0.2;
/** Before any sample or benchmark: a few hundred tokens at 20–50 tok/s on a laptop-class local model. */
export const DEFAULT_PROCESSING_MS = 10_000;
/** Output length assumed when turning a benchmark's tokens/s into a processing time. */
export const DEFAULT_EXPECTED_TOKENS = 256;
/** Confidence reaches one half after this many samples (then shrinks with the spread). */
export const CONFIDENCE_HALF_SAMPLES = 5;
/** A benchmark says how fast a model generates, not how long its real requests are: modest trust. */
export const PRIOR_CONFIDENCE = 0.3;
export const NO_DATA_CONFIDENCE = 0.1;
/** Arrival rates come from this recent window (older traffic says little about the next minutes)… */
export const ARRIVAL_WINDOW_MS = 10 * 60_000;
/** …with at most this many timestamps kept per model and priority. */
export const ARRIVAL_SAMPLES_MAX = 128;
/** A rate measured over less time than this is mostly noise; spread it over at least this span. */
export const MIN_RATE_SPAN_MS = 30_000;
/** Jumping work is capped below saturation so an overloaded queue still yields a finite estimate. */
export const MAX_JUMP_UTILISATION = 0.95;

export interface EstimateContext {
  /** Items ahead of this one in the model's queue; 0 = next. */
  position: number;
  concurrency: number;
  running: number;
  downloadBytes?: number;
  bandwidthBytesPerS?: number;
  cooldownRemainingMs?: number;
  /** How long each running request has held its slot: gives their remaining time, not a full one. */
  runningElapsedMs?: number[];
  /** Expected output tokens (maxTokens) of each running request, same order; undefined = unknown. */
  runningTokens?: (number | undefined)[];
  /** Expected output tokens of each item ahead (length = position when known). */
  aheadTokens?: (number | undefined)[];
  /** This request's expected output tokens. */
  tokens?: number;
  /** The waiting item's priority: later arrivals of higher priority are expected to jump ahead. */
  priority?: Priority;
  /** How long it has waited already (aging raises its level every agingMs). */
  waitedMs?: number;
  /** The queue's aging step; without it no aging is assumed. */
  agingMs?: number;
  /** The model's whole waiting list in arrival order, this item included, so the dispatch order can be
   *  replayed exactly (items behind may age past this one). Without it: `position` items ahead. */
  waiting?: QueuedWork[];
  /** Index of this item in `waiting`. */
  self?: number;
}

/** One waiting request as the estimator sees it. */
export interface QueuedWork { priority: Priority; waitedMs: number; tokens?: number | undefined }

/** Mean and variance of a duration. */
interface Moments { meanMs: number; varMs2: number }

/** Exponentially weighted mean and variance of slot-hold times per request. */
interface RequestStats { n: number; mean: number; variance: number }
/** Exponentially decayed, weighted least squares of hold time on expected tokens: ms ≈ a + b·tokens.
 *  Sums, not means, so early samples need no bias correction. */
interface TokenStats { n: number; sw: number; swx: number; swy: number; swxx: number; swxy: number; relVar: number }
interface Prior { processingMs: number; ttftMs: number; msPerToken?: number }
export interface Processing { meanMs: number; sdMs: number; confidence: number }

/** Below this many sized samples, or with too little spread in sizes, use the ratio ms/token. */
export const REGRESSION_MIN_SAMPLES = 4;
/** Decay of the size model. A model's speed per token is a property of model and machine and
 *  changes slowly, so it averages over ~20 requests (twice the window of EWMA_ALPHA): a size model
 *  has two parameters to learn and the noise of a 1024-token request would otherwise swamp it. */
export const TOKEN_MODEL_ALPHA = 0.1;

export class WaitEstimator {
  private readonly clock: Clock;
  private readonly stats = new Map<string, RequestStats>();
  private readonly tokenStats = new Map<string, TokenStats>();
  private readonly priors = new Map<string, Prior>();
  private readonly arrivals = new Map<string, number[][]>();
  private readonly firstArrival = new Map<string, number>();

  constructor(deps: { clock: Clock }) {
    this.clock = deps.clock;
  }

  /** Record how long a request held its slot (what the queue waits on, success or not), and the
   *  output tokens it was expected to produce when known (its maxTokens): long and short requests
   *  then get their own estimates instead of one average. */
  observe(model: string, processingMs: number, expectedTokens?: number): void {
    if (!Number.isFinite(processingMs) || processingMs < 0) return;
    const s = this.stats.get(model) ?? { n: 0, mean: 0, variance: 0 };
    s.n += 1;
    const alpha = Math.max(EWMA_ALPHA, 1 / s.n);
    const diff = processingMs - s.mean;
    const incr = alpha * diff;
    s.mean += incr;
    s.variance = (1 - alpha) * (s.variance + diff * incr);
    this.stats.set(model, s);
    if (expectedTokens === undefined || !(expectedTokens > 0)) return;
    const t = this.tokenStats.get(model) ?? { n: 0, sw: 0, swx: 0, swy: 0, swxx: 0, swxy: 0, relVar: 0 };
    if (t.n > 0) {
      // Relative error of the prediction made before seeing this sample: an honest spread.
      const pred = predictTokens(t, expectedTokens);
      const rel = pred > 0 ? (processingMs - pred) / pred : 0;
      const a = Math.max(EWMA_ALPHA, 1 / t.n);
      t.relVar = t.n === 1 ? rel * rel : (1 - a) * t.relVar + a * rel * rel;
    }
    t.n += 1;
    // Times vary in proportion to their size: weigh by 1/size² so relative errors count equally and
    // the longest requests do not decide the fit alone.
    const x = expectedTokens;
    const w = 1 / (x * x);
    const keep = 1 - TOKEN_MODEL_ALPHA;
    t.sw = keep * t.sw + w;
    t.swx = keep * t.swx + w * x;
    t.swy = keep * t.swy + w * processingMs;
    t.swxx = keep * t.swxx + w * x * x;
    t.swxy = keep * t.swxy + w * x * processingMs;
    this.tokenStats.set(model, t);
  }

  /** Prior before any observation: benchmark tokens/s × expected tokens (+ time to first token). */
  setPrior(model: string, p: { tokensPerSecond?: number; expectedTokens?: number; ttftMs?: number }): void {
    const tokens = p.expectedTokens ?? DEFAULT_EXPECTED_TOKENS;
    const msPerToken = p.tokensPerSecond && p.tokensPerSecond > 0 ? 1000 / p.tokensPerSecond : undefined;
    if (msPerToken === undefined && p.ttftMs === undefined) return;
    const ttftMs = p.ttftMs ?? 0;
    const prior: Prior = { ttftMs, processingMs: ttftMs + (msPerToken === undefined ? DEFAULT_PROCESSING_MS : tokens * msPerToken) };
    if (msPerToken !== undefined) prior.msPerToken = msPerToken;
    this.priors.set(model, prior);
  }

  /** Record that a request for `model` arrived (the queue calls this for every acquire). */
  observeArrival(model: string, priority: Priority): void {
    const now = this.clock.now();
    if (!this.firstArrival.has(model)) this.firstArrival.set(model, now);
    let perLevel = this.arrivals.get(model);
    if (!perLevel) {
      perLevel = PRIORITIES.map(() => []);
      this.arrivals.set(model, perLevel);
    }
    const list = perLevel[PRIORITIES.indexOf(priority)];
    if (!list) return;
    list.push(now);
    if (list.length > ARRIVAL_SAMPLES_MAX) list.shift();
  }

  /** Processing time believed for one request (of `tokens` expected output tokens when known). */
  processing(model: string, tokens?: number): Processing {
    const prior = this.priors.get(model);
    const floor = prior ? PRIOR_CONFIDENCE : NO_DATA_CONFIDENCE;
    const t = this.tokenStats.get(model);
    if (tokens !== undefined && tokens > 0 && t && t.n > 0) {
      const meanMs = predictTokens(t, tokens);
      // Until two samples exist there is no measured spread: assume half the mean.
      const cv = t.n >= 2 ? Math.sqrt(t.relVar) : 0.5;
      return { meanMs, sdMs: cv * meanMs, confidence: Math.max(floor, sampleConfidence(t.n, cv)) };
    }
    const s = this.stats.get(model);
    if (s && s.n > 0) {
      const sd = Math.sqrt(Math.max(0, s.variance));
      const cv = s.mean > 0 ? sd / s.mean : 1;
      return { meanMs: s.mean, sdMs: sd, confidence: Math.max(floor, sampleConfidence(s.n, cv)) };
    }
    // Without samples assume a spread of half the mean: wide enough not to pretend precision.
    if (prior) {
      const meanMs = tokens !== undefined && tokens > 0 && prior.msPerToken !== undefined ? prior.ttftMs + tokens * prior.msPerToken : prior.processingMs;
      return { meanMs, sdMs: meanMs / 2, confidence: PRIOR_CONFIDENCE };
    }
    return { meanMs: DEFAULT_PROCESSING_MS, sdMs: DEFAULT_PROCESSING_MS / 2, confidence: NO_DATA_CONFIDENCE };
  }

  /** Requests per ms at each priority level (index as in PRIORITIES) over the recent window. */
  arrivalRates(model: string): number[] {
    const now = this.clock.now();
    const perLevel = this.arrivals.get(model);
    const first = this.firstArrival.get(model);
    if (!perLevel || first === undefined) return PRIORITIES.map(() => 0);
    return perLevel.map((list) => {
      while (list.length > 0 && (list[0] ?? now) < now - ARRIVAL_WINDOW_MS) list.shift();
      if (list.length === 0) return 0;
      // A full sample buffer covers less than the window: measure over what it covers.
      const start = list.length >= ARRIVAL_SAMPLES_MAX ? (list[0] ?? first) : Math.max(first, now - ARRIVAL_WINDOW_MS);
      return list.length / Math.max(MIN_RATE_SPAN_MS, now - start);
    });
  }

  estimate(model: string, ctx: EstimateContext): WaitEstimate {
    const own = this.processing(model, ctx.tokens);
    const downloadMs =
      ctx.downloadBytes && ctx.downloadBytes > 0 && ctx.bandwidthBytesPerS && ctx.bandwidthBytesPerS > 0
        ? (ctx.downloadBytes / ctx.bandwidthBytesPerS) * 1000
        : 0;
    const cooldownMs = Math.max(0, ctx.cooldownRemainingMs ?? 0);
    const blockedMs = downloadMs + cooldownMs;
    const wait = this.waitMoments(model, ctx, blockedMs);
    // The point estimate is the MEDIAN of the wait (log-normal with the predicted mean and spread),
    // not its mean: "even odds it is sooner or later" is what a person reads into "about 40 s", and
    // the wait is right-skewed (a burst of urgent arrivals can double it; nothing can halve it), so the
    // mean would be too long more often than not. Where the wait is nearly certain the two coincide.
    const startMs = Math.max(blockedMs, medianMs(wait));
    const queueMs = startMs - blockedMs;
    const totalMs = Math.round(startMs + own.meanMs);
    const cv = wait.meanMs > 0 ? Math.sqrt(wait.varMs2) / wait.meanMs : 0;
    // Trust shrinks with the spread of the wait (urgent arrivals that may or may not come).
    const confidence = own.confidence / (1 + cv);
    const factors: WaitEstimate['factors'] = {
      downloadMs: Math.round(downloadMs),
      queueMs: Math.round(queueMs),
      processingMs: Math.round(own.meanMs),
    };
    if (cooldownMs > 0) factors.cooldownMs = Math.round(cooldownMs);
    return { totalMs, confidence: round2(confidence), factors, position: ctx.position };
  }

  /** Mean and standard deviation of the time until the item gets its slot (before taking the
   *  median that estimate() reports): the known queue replayed, then higher-priority arrivals. */
  waitDistribution(model: string, ctx: EstimateContext): { meanMs: number; sdMs: number } {
    const w = this.waitMoments(model, ctx, 0);
    return { meanMs: w.meanMs, sdMs: Math.sqrt(w.varMs2) };
  }

  private waitMoments(model: string, ctx: EstimateContext, blockedMs: number): Moments {
    return this.addArrivals(model, ctx, this.replay(model, ctx, blockedMs));
  }

  /** When the item starts if nothing else arrives: replay the queue as the queue itself will serve it.
   *  Each slot frees when its running request ends (E[remaining | elapsed so far]); the first free
   *  slot goes to the best waiting item AT THAT MOMENT (level after aging, then arrival order), so an
   *  older low item that ages past this one on the way is counted, and one it outranks is not. */
  private replay(model: string, ctx: EstimateContext, blockedMs: number): Moments {
    const c = Math.max(1, Math.floor(ctx.concurrency));
    const elapsed = ctx.runningElapsedMs ?? [];
    const running: Moments[] = [];
    for (let i = 0; i < Math.max(0, ctx.running); i++) {
      const p = this.processing(model, ctx.runningTokens?.[i]);
      const e = elapsed[i];
      running.push(e === undefined ? { meanMs: p.meanMs, varMs2: p.sdMs ** 2 } : residual(p.meanMs, p.sdMs, e));
    }
    running.sort((a, b) => a.meanMs - b.meanMs);
    // More running than slots (concurrency was lowered): only the last c completions free a usable slot.
    const slots = running.slice(Math.max(0, running.length - c));
    while (slots.length < c) slots.unshift({ meanMs: 0, varMs2: 0 });
    for (const s of slots) if (s.meanMs < blockedMs) Object.assign(s, { meanMs: blockedMs, varMs2: 0 });
    const { waiting, self } = waitingList(ctx);
    const agingMs = ctx.agingMs && ctx.agingMs > 0 ? ctx.agingMs : Infinity;
    const pending = waiting.map((_, i) => i);
    while (pending.length > 0) {
      const slot = slots.reduce((a, b) => (b.meanMs < a.meanMs ? b : a));
      const t = slot.meanMs;
      let best = 0;
      let bestLevel = Infinity;
      pending.forEach((idx, k) => {
        const w = waiting[idx];
        const level = w ? effectiveLevel(w.priority, w.waitedMs + t, agingMs) : Infinity;
        if (level < bestLevel) [best, bestLevel] = [k, level]; // pending is in arrival order: ties keep the earlier
      });
      const [idx] = pending.splice(best, 1);
      if (idx === self || idx === undefined) return { ...slot };
      const p = this.processing(model, waiting[idx]?.tokens);
      slot.meanMs += p.meanMs;
      slot.varMs2 += p.sdMs ** 2;
    }
    return { ...slots.reduce((a, b) => (b.meanMs < a.meanMs ? b : a)) };
  }

  /** Higher-priority requests arriving while the item waits go before it: the delay busy period that a
   *  backlog T0 starts, E[T] = T0 / (1 − u) for jumping utilisation u per slot (exact for one slot, a
   *  fluid approximation for more). Only arrivals whose level beats the item's current one jump;
   *  aging raises the item a level every agingMs, so fewer levels jump as it waits and none once it is
   *  `critical`. Arrivals at its own level or below never pass it (FIFO, and they age no faster).
   *  Variance of a delay busy period: Var[T0]·(T/T0)² + (T − T0)·(E[S²]/E[S])·(T/T0)². */
  private addArrivals(model: string, ctx: EstimateContext, known: Moments): Moments {
    const t0 = known.meanMs;
    if (ctx.priority === undefined || t0 <= 0) return known;
    const rates = this.arrivalRates(model);
    const { meanMs, secondMomentMs2 } = this.serviceMoments(model);
    const c = Math.max(1, Math.floor(ctx.concurrency));
    const base = PRIORITIES.indexOf(ctx.priority);
    const aging = ctx.agingMs && ctx.agingMs > 0 ? ctx.agingMs : Infinity;
    const waited = Math.max(0, ctx.waitedMs ?? 0);
    let remaining = t0;
    let t = 0;
    let total: number | undefined;
    for (let guard = 0; guard <= PRIORITIES.length && total === undefined; guard++) {
      const steps = aging === Infinity ? 0 : Math.floor((waited + t) / aging);
      const level = Math.max(0, base - steps);
      let inflow = 0;
      for (let l = 0; l < level; l++) inflow += ((rates[l] ?? 0) * meanMs) / c;
      inflow = Math.min(inflow, MAX_JUMP_UTILISATION);
      const segEnd = level === 0 || aging === Infinity ? Infinity : (steps + 1) * aging - waited;
      const drain = 1 - inflow;
      const toZero = remaining / drain;
      if (t + toZero <= segEnd) total = t + toZero;
      else {
        remaining -= (segEnd - t) * drain;
        t = segEnd;
      }
    }
    const T = total ?? t + remaining;
    const stretch = T / t0;
    const jumpVar = meanMs > 0 ? (T - t0) * (secondMomentMs2 / meanMs) : 0;
    return { meanMs: T, varMs2: (known.varMs2 + jumpVar) * stretch * stretch };
  }

  /** Mean and second moment of one request of unknown size (what a future arrival brings). */
  private serviceMoments(model: string): { meanMs: number; secondMomentMs2: number } {
    const p = this.processing(model);
    return { meanMs: p.meanMs, secondMomentMs2: p.meanMs ** 2 + p.sdMs ** 2 };
  }
}

/** A priority's index in PRIORITIES (0 = critical), one better per agingMs waited, never above critical.
 *  The queue orders by this, and the estimator replays the same rule. */
export function effectiveLevel(priority: Priority, waitedMs: number, agingMs: number): number {
  const steps = agingMs > 0 && Number.isFinite(agingMs) ? Math.floor(Math.max(0, waitedMs) / agingMs) : 0;
  return Math.max(0, PRIORITIES.indexOf(priority) - steps);
}

/** The waiting list to replay: the queue's own when given, else `position` anonymous items ahead. */
function waitingList(ctx: EstimateContext): { waiting: QueuedWork[]; self: number } {
  if (ctx.waiting && ctx.self !== undefined && ctx.self >= 0 && ctx.self < ctx.waiting.length) {
    return { waiting: ctx.waiting, self: ctx.self };
  }
  const position = Math.max(0, ctx.position);
  const waiting: QueuedWork[] = [];
  for (let i = 0; i < position; i++) waiting.push({ priority: 'critical', waitedMs: 0, tokens: ctx.aheadTokens?.[i] });
  waiting.push({ priority: 'critical', waitedMs: 0, tokens: ctx.tokens });
  return { waiting, self: position };
}

/** Median of a positive quantity with this mean and variance, taken as log-normal. */
function medianMs(m: Moments): number {
  if (m.meanMs <= 0) return 0;
  return m.meanMs / Math.sqrt(1 + m.varMs2 / (m.meanMs * m.meanMs));
}

function sampleConfidence(n: number, cv: number): number {
  return n / (n + CONFIDENCE_HALF_SAMPLES) / (1 + cv);
}

/** ms for `tokens` from the weighted regression; the plain ratio while sizes barely vary. */
function predictTokens(t: TokenStats, tokens: number): number {
  if (t.sw <= 0) return 0;
  const mx = t.swx / t.sw;
  const my = t.swy / t.sw;
  const varX = t.swxx / t.sw - mx * mx;
  if (t.n >= REGRESSION_MIN_SAMPLES && varX > (0.05 * mx) ** 2) {
    const slope = (t.swxy / t.sw - mx * my) / varX;
    const intercept = my - slope * mx;
    if (slope > 0 && intercept >= 0) return intercept + slope * tokens;
  }
  return mx > 0 ? (my / mx) * tokens : my;
}

/** Expected remaining time of a request that has run `elapsedMs`, for a normal service time
 *  N(mean, sd): E[S − e | S > e]. Past the mean it is the tail's mean excess, never zero. */
export function meanResidual(meanMs: number, sdMs: number, elapsedMs: number): number {
  return residual(meanMs, sdMs, elapsedMs).meanMs;
}

/** Mean and variance of S − e given S > e for S ~ N(mean, sd): the truncated normal's moments,
 *  mean + sd·h − e and sd²·(1 + z·h − h²) with z = (e − mean)/sd and hazard h = φ(z)/(1 − Φ(z)). */
function residual(meanMs: number, sdMs: number, elapsedMs: number): Moments {
  if (sdMs <= 0) return { meanMs: Math.max(0, meanMs - elapsedMs), varMs2: 0 };
  const z = (elapsedMs - meanMs) / sdMs;
  const tail = 1 - normalCdf(z);
  // Far in the tail φ/(1−Φ) tends to z + 1/z and the excess to sd/z: use the asymptotes, not ~0/~0.
  if (tail < 1e-9) {
    const zz = Math.max(z, 1);
    return { meanMs: Math.max(0, meanMs + sdMs * (zz + 1 / zz) - elapsedMs), varMs2: (sdMs / zz) ** 2 };
  }
  const h = normalPdf(z) / tail;
  return { meanMs: Math.max(0, meanMs + sdMs * h - elapsedMs), varMs2: sdMs * sdMs * Math.max(0, 1 + z * h - h * h) };
}

function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Abramowitz & Stegun 7.1.26 (error below 1.5e-7): plenty for a wait estimate. */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
