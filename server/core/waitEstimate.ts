// How long will a request wait? Per-model processing time (EWMA of slot-hold times; before any, a prior
// from the model's stored benchmark, its call history, or its size and the request's maxTokens; per
// expected output tokens when known), the known queue replayed in dispatch order
// (running requests' remaining time, priority, aging, FIFO), the higher-priority work expected to
// arrive and jump ahead while it waits, plus download and cooldown time. Pure: time comes from the
// injected Clock.
import { PRIORITIES, type Priority, type WaitEstimate } from '../../protocol/types';
import { mulberry32, exponential, sampleLogNormal, sampleResidual, round2, type Processing } from './waitMath';
import type { Clock } from './types';

/** Weight of the newest sample. 0.2 lets roughly the last ten requests dominate: a model that slows
 *  down (thermal throttling, another app on the GPU) is tracked within a handful of requests, while one
 *  outlier moves the mean by only a fifth of its distance. Until 1/n < 0.2 the plain mean is used. */
export const EWMA_ALPHA = 0.2;
/** Before any sample or benchmark: a few hundred tokens at 20–50 tok/s on a laptop-class local model. */
export const DEFAULT_PROCESSING_MS = 10_000;
/** Size prior (no benchmark, no history): CPU generation reads every weight once per token, so a token
 *  costs about size ÷ memory bandwidth. Measured here: the 197 MiB f16 fixture generates 82–98 tok/s
 *  on one thread, 17–20 GB/s; laptops have 20–60 GB/s. */
export const LOCAL_BYTES_PER_MS = 20e6;
/** …plus a per-token overhead that dominates for tiny models (0.5 MB: 2,600–3,400 tok/s here). */
export const LOCAL_MIN_MS_PER_TOKEN = 0.3;
/** …and a first token after about this many tokens' worth of time (prompt evaluation, sampling set-up):
 *  333–522 ms for the 197 MiB fixture at ~11 ms/token. */
export const LOCAL_TTFT_TOKENS = 40;
/** A cloud model without benchmark or history: a typical hosted API (first token ~0.6 s, ~65 tok/s). */
export const CLOUD_TTFT_MS = 600;
export const CLOUD_MS_PER_TOKEN = 15;
/** Spread of one request's time under a benchmark prior: the speed is measured (±5 %), the length is
 *  at most maxTokens and often less. */
export const BENCHMARK_PRIOR_SPREAD = 0.25;
/** Spread under any other prior (history of unknown sizes, a size or kind guess): half the mean, wide
 *  enough not to pretend precision. */
export const GUESS_PRIOR_SPREAD = 0.5;
/** Trust in a prior from size or kind: a physical guess, off by 2× on another machine. */
export const GUESS_CONFIDENCE = 0.15;
/** Trust in a prior from the model's call history (real durations, request sizes unknown). */
export const HISTORY_CONFIDENCE = 0.25;
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
/** Simulated arrivals are capped below saturation so an overloaded queue still yields a finite estimate. */
export const MAX_JUMP_UTILISATION = 0.95;
/** Simulated runs per estimate. The median of 200 draws is within ~9 % of the wait's own spread of the
 *  true median: small beside that spread, and a queue of 20 costs about a millisecond. */
export const SIMULATION_RUNS = 200;
/** Fixed seed: the same queue gets the same estimate (no flicker in the UI), and the core stays pure. */
const SIMULATION_SEED = 0x5eed;
/** Guard for a queue that never drains (arrivals beyond capacity without aging). */
const MAX_PICKS_PER_ITEM = 50;

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
export interface QueuedWork {
  priority: Priority;
  waitedMs: number;
  tokens?: number | undefined;
}

/** Exponentially weighted mean and variance of slot-hold times per request. */
interface RequestStats {
  n: number;
  mean: number;
  variance: number;
}
/** Exponentially decayed, weighted least squares of hold time on expected tokens: ms ≈ a + b·tokens.
 *  Sums, not means, so early samples need no bias correction. */
interface TokenStats {
  n: number;
  sw: number;
  swx: number;
  swy: number;
  swxx: number;
  swxy: number;
  relVar: number;
}
interface Prior {
  processingMs: number;
  ttftMs: number;
  msPerToken?: number;
  confidence: number;
  /** Assumed spread (sd ÷ mean) of one request's time until the first observation. */
  spread: number;
}

/** What the daemon knows about a model before the estimator has seen it serve (a cold start): what
 *  `PriorSource` returns. Every field is optional; the best one known is used. */
export interface PriorFacts {
  /** A stored benchmark: generation tokens/s and time to first token. */
  tokensPerSecond?: number;
  ttftMs?: number;
  /** Mean duration of the model's recent successful calls (the persisted health history). */
  latencyMs?: number;
  /** A local model's file size. */
  sizeBytes?: number;
  kind?: 'local' | 'cloud';
}
export type PriorSource = (model: string) => PriorFacts | undefined;

/** The prior for a sized request (`tokens` known): benchmark, then history, then size or kind; for an
 *  unsized one: history first (it is what the model's real requests took), then the others. */
export function priorFromFacts(f: PriorFacts, sized: boolean): Prior | undefined {
  const bench =
    f.tokensPerSecond !== undefined && f.tokensPerSecond > 0
      ? speedPrior(1000 / f.tokensPerSecond, f.ttftMs ?? 0, PRIOR_CONFIDENCE, BENCHMARK_PRIOR_SPREAD)
      : undefined;
  const history =
    f.latencyMs !== undefined && f.latencyMs > 0
      ? { ttftMs: 0, processingMs: f.latencyMs, confidence: HISTORY_CONFIDENCE, spread: GUESS_PRIOR_SPREAD }
      : undefined;
  let guess: Prior | undefined;
  if (f.kind === 'local' && f.sizeBytes !== undefined && f.sizeBytes > 0) {
    const msPerToken = Math.max(LOCAL_MIN_MS_PER_TOKEN, f.sizeBytes / LOCAL_BYTES_PER_MS);
    guess = speedPrior(msPerToken, LOCAL_TTFT_TOKENS * msPerToken, GUESS_CONFIDENCE, GUESS_PRIOR_SPREAD);
  } else if (f.kind === 'cloud')
    guess = speedPrior(CLOUD_MS_PER_TOKEN, CLOUD_TTFT_MS, GUESS_CONFIDENCE, GUESS_PRIOR_SPREAD);
  return sized ? (bench ?? history ?? guess) : (history ?? bench ?? guess);
}

function speedPrior(msPerToken: number, ttftMs: number, confidence: number, spread: number): Prior {
  return { ttftMs, msPerToken, processingMs: ttftMs + DEFAULT_EXPECTED_TOKENS * msPerToken, confidence, spread };
}
export type { Processing } from './waitMath';

/** Below this many sized samples, or with too little spread in sizes, use the ratio ms/token. */
export const REGRESSION_MIN_SAMPLES = 4;
/** Decay of the size model. A model's speed per token is a property of model and machine and
 *  changes slowly, so it averages over ~40 requests: a size model has two parameters to learn, and
 *  with a request-to-request spread of 25 % a 10-request window leaves the mean ±8 % off, which every
 *  item ahead in the queue then repeats. */
export const TOKEN_MODEL_ALPHA = 0.05;
/** Decay of the relative spread of sized requests. A spread needs more samples than a mean (its
 *  estimate from k samples is off by about √(2/k)): ~40 requests keep it within ~25 %. */
export const SPREAD_ALPHA = 0.05;

export class WaitEstimator {
  private readonly clock: Clock;
  private readonly stats = new Map<string, RequestStats>();
  private readonly tokenStats = new Map<string, TokenStats>();
  private readonly priors = new Map<string, Prior>();
  private readonly arrivals = new Map<string, number[][]>();
  private readonly firstArrival = new Map<string, number>();
  private priorSource: PriorSource | undefined;

  constructor(deps: { clock: Clock; priors?: PriorSource }) {
    this.clock = deps.clock;
    this.priorSource = deps.priors;
  }

  /** Where cold-start priors come from (stored benchmarks, health history, model sizes): consulted for
   *  a model only while it has no observation and no prior set by `setPrior`. */
  setPriorSource(source: PriorSource | undefined): void {
    this.priorSource = source;
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
      const a = Math.max(SPREAD_ALPHA, 1 / t.n);
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
    const prior: Prior = {
      ttftMs,
      processingMs: ttftMs + (msPerToken === undefined ? DEFAULT_PROCESSING_MS : tokens * msPerToken),
      confidence: PRIOR_CONFIDENCE,
      spread: msPerToken === undefined ? GUESS_PRIOR_SPREAD : BENCHMARK_PRIOR_SPREAD,
    };
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
    const sized = tokens !== undefined && tokens > 0;
    const t = this.tokenStats.get(model);
    const s = this.stats.get(model);
    const observed = (t !== undefined && t.n > 0) || (s !== undefined && s.n > 0);
    const prior = this.priors.get(model) ?? (observed ? undefined : this.derivedPrior(model, sized));
    const floor = prior ? prior.confidence : NO_DATA_CONFIDENCE;
    if (tokens !== undefined && tokens > 0 && t && t.n > 0) {
      const meanMs = predictTokens(t, tokens);
      // Until two samples exist there is no measured spread: assume half the mean.
      const cv = t.n >= 2 ? Math.sqrt(t.relVar) : 0.5;
      return { meanMs, sdMs: cv * meanMs, confidence: Math.max(floor, sampleConfidence(t.n, cv)) };
    }
    if (s && s.n > 0) {
      const sd = Math.sqrt(Math.max(0, s.variance));
      const cv = s.mean > 0 ? sd / s.mean : 1;
      return { meanMs: s.mean, sdMs: sd, confidence: Math.max(floor, sampleConfidence(s.n, cv)) };
    }
    // Without samples: the prior's assumed spread (a benchmark's is narrower than a guess's).
    if (prior) {
      const meanMs =
        tokens !== undefined && tokens > 0 && prior.msPerToken !== undefined
          ? prior.ttftMs + tokens * prior.msPerToken
          : prior.processingMs;
      return { meanMs, sdMs: meanMs * prior.spread, confidence: prior.confidence };
    }
    return { meanMs: DEFAULT_PROCESSING_MS, sdMs: DEFAULT_PROCESSING_MS / 2, confidence: NO_DATA_CONFIDENCE };
  }

  private derivedPrior(model: string, sized: boolean): Prior | undefined {
    const facts = this.priorSource?.(model);
    return facts ? priorFromFacts(facts, sized) : undefined;
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

  /** Estimate for the item `ctx.self` of `ctx.waiting` (or `position` anonymous items ahead). */
  estimate(model: string, ctx: EstimateContext): WaitEstimate {
    const { waiting, self } = waitingList(ctx);
    const blockedMs = blockedTime(ctx);
    const starts = this.simulate(model, { ...ctx, waiting, self }, blockedMs, self, arrivalsKnown(ctx))[self] ?? [];
    return this.summarise(model, ctx, ctx.tokens ?? waiting[self]?.tokens, starts, blockedMs, ctx.position);
  }

  /** Estimates for every item of `ctx.waiting` at once (index as in `waiting`): one simulation serves
   *  all of them, which is what the queue's item list needs. */
  estimateAll(model: string, ctx: EstimateContext): WaitEstimate[] {
    const waiting = ctx.waiting ?? [];
    const blockedMs = blockedTime(ctx);
    const starts = this.simulate(model, { ...ctx, waiting }, blockedMs, 'all', true);
    return waiting.map((w, i) => this.summarise(model, ctx, w.tokens, starts[i] ?? [], blockedMs));
  }

  /** Mean, median and spread of the simulated time until the item gets its slot. */
  waitDistribution(model: string, ctx: EstimateContext): { meanMs: number; medianMs: number; sdMs: number } {
    const { waiting, self } = waitingList(ctx);
    const s = [
      ...(this.simulate(model, { ...ctx, waiting, self }, blockedTime(ctx), self, arrivalsKnown(ctx))[self] ?? []),
    ].sort((a, b) => a - b);
    const meanMs = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
    const sdMs = Math.sqrt(s.reduce((a, b) => a + (b - meanMs) ** 2, 0) / Math.max(1, s.length));
    return { meanMs, medianMs: median(s), sdMs };
  }

  private summarise(
    model: string,
    ctx: EstimateContext,
    tokens: number | undefined,
    starts: number[],
    blockedMs: number,
    position?: number,
  ): WaitEstimate {
    const own = this.processing(model, tokens);
    const sorted = [...starts].sort((a, b) => a - b);
    // The point estimate is the MEDIAN simulated wait, not the mean: "even odds it comes sooner or
    // later" is what a person reads into "about 40 s", and the wait is right-skewed (a burst of urgent
    // arrivals can double it, nothing can halve it), so the mean would be too long more often than
    // not. It is also what a relative-error score (MAPE) rewards. Where the wait is nearly certain
    // the two coincide.
    const startMs = Math.max(blockedMs, median(sorted));
    const meanMs = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
    const sd = Math.sqrt(sorted.reduce((a, b) => a + (b - meanMs) ** 2, 0) / Math.max(1, sorted.length));
    // Trust shrinks with the spread of the wait (urgent arrivals that may or may not come).
    const confidence = own.confidence / (1 + (meanMs > 0 ? sd / meanMs : 0));
    const downloadMs = downloadTime(ctx);
    const factors: WaitEstimate['factors'] = {
      downloadMs: Math.round(downloadMs),
      queueMs: Math.round(startMs - blockedMs),
      processingMs: Math.round(own.meanMs),
    };
    const cooldownMs = blockedMs - downloadMs;
    if (cooldownMs > 0) factors.cooldownMs = Math.round(cooldownMs);
    const out: WaitEstimate = { totalMs: Math.round(startMs + own.meanMs), confidence: round2(confidence), factors };
    if (position !== undefined) out.position = position;
    return out;
  }

  /** Start-time samples (ms from now) of the tracked waiting items, SIMULATION_RUNS each. Every run
   *  replays the queue's own rule: a slot frees when its request ends (the running ones' remaining
   *  time is drawn given how long they have run), and goes to the best waiting item AT THAT MOMENT
   *  (level after aging, then arrival order). Future requests arrive as Poisson streams at each
   *  level's measured rate, so higher-priority arrivals jump ahead exactly when the queue would let
   *  them, and older items that age past the item are counted. Service times are log-normal with the
   *  learned mean and spread per expected size: durations are positive and right-skewed. A fixed seed
   *  keeps the answer stable for the same queue (no flicker in the UI) and the core pure. */
  private simulate(
    model: string,
    ctx: EstimateContext & { waiting: QueuedWork[] },
    blockedMs: number,
    track: number | 'all',
    withArrivals: boolean,
  ): number[][] {
    const c = Math.max(1, Math.floor(ctx.concurrency));
    const agingMs = ctx.agingMs && ctx.agingMs > 0 ? ctx.agingMs : Infinity;
    const waiting = ctx.waiting;
    const dists = waiting.map((w) => this.processing(model, w.tokens));
    const elapsed = ctx.runningElapsedMs ?? [];
    const running = Array.from({ length: Math.max(0, ctx.running) }, (_, i) => ({
      d: this.processing(model, ctx.runningTokens?.[i]),
      e: elapsed[i] ?? 0,
    }));
    const arrivals = this.arrivalModel(model, c, !withArrivals);
    const starts: number[][] = waiting.map(() => []);
    const tracked = track === 'all' ? waiting.length : 1;
    for (let run = 0; run < SIMULATION_RUNS; run++) {
      // One stream per run: a run draws the same numbers whether it stops at one item or at the last.
      const rand = mulberry32(SIMULATION_SEED + run * 0x9e3779b9);
      const ends = running.map((r) => sampleResidual(r.d, r.e, rand)).sort((a, b) => a - b);
      // More running than slots (concurrency was lowered): only the last c completions free a usable slot.
      const slots = ends.slice(Math.max(0, ends.length - c)).map((t) => Math.max(t, blockedMs));
      while (slots.length < c) slots.unshift(blockedMs);
      const pending = waiting.map((w, i) => ({ base: PRIORITIES.indexOf(w.priority), at: -w.waitedMs, item: i }));
      let nextArrival = arrivals.totalPerMs > 0 ? exponential(rand) / arrivals.totalPerMs : Infinity;
      let left = tracked;
      for (let picks = 0; left > 0 && pending.length > 0; picks++) {
        let si = 0;
        slots.forEach((t, i) => {
          if (t < (slots[si] ?? Infinity)) si = i;
        });
        const t = slots[si] ?? 0;
        if (picks > MAX_PICKS_PER_ITEM * (waiting.length + 1)) {
          // The queue does not drain (arrivals near capacity, no aging): what is left waits at least this
          // long. A finite lower bound, never Infinity (it would travel as null in JSON).
          for (const p of pending) if (p.item >= 0 && (track === 'all' || p.item === track)) starts[p.item]?.push(t);
          break;
        }
        while (nextArrival <= t && nextArrival <= arrivals.horizonMs) {
          pending.push({ base: arrivals.pickLevel(rand()), at: nextArrival, item: -1 });
          nextArrival += exponential(rand) / arrivals.totalPerMs;
        }
        let best = 0;
        let bestLevel = Infinity;
        pending.forEach((p, k) => {
          const level = Math.max(0, p.base - (agingMs === Infinity ? 0 : Math.floor((t - p.at) / agingMs)));
          if (level < bestLevel) [best, bestLevel] = [k, level]; // arrival order: ties keep the earlier
        });
        const [next] = pending.splice(best, 1);
        if (!next) break;
        if (next.item >= 0) {
          if (track === 'all' || next.item === track) {
            starts[next.item]?.push(t);
            left -= 1;
          }
          slots[si] = t + sampleLogNormal(dists[next.item] ?? arrivals.service, rand);
        } else slots[si] = t + sampleLogNormal(arrivals.service, rand);
      }
    }
    return starts;
  }

  /** Future arrivals per level at the measured rates, scaled below saturation so the simulation of an
   *  overloaded queue still ends. `none`: a bare position estimate (no priorities known), no arrivals. */
  private arrivalModel(
    model: string,
    c: number,
    none: boolean,
  ): { totalPerMs: number; pickLevel: (u: number) => number; service: Processing; horizonMs: number } {
    const service = this.processing(model);
    const rates = none ? PRIORITIES.map(() => 0) : this.arrivalRates(model);
    let total = rates.reduce((a, b) => a + b, 0);
    const utilisation = (total * service.meanMs) / c;
    if (utilisation > MAX_JUMP_UTILISATION) total *= MAX_JUMP_UTILISATION / utilisation;
    const sum = rates.reduce((a, b) => a + b, 0);
    const pickLevel = (u: number): number => {
      let acc = 0;
      for (let l = 0; l < rates.length; l++) {
        acc += (rates[l] ?? 0) / sum;
        if (u < acc) return l;
      }
      return rates.length - 1;
    };
    // Arrivals are extrapolated no further ahead than they have been observed (up to the window): the
    // first second of a burst says nothing about the minutes after it. Steady traffic is unaffected.
    const first = this.firstArrival.get(model);
    const horizonMs = first === undefined ? 0 : Math.min(ARRIVAL_WINDOW_MS, this.clock.now() - first);
    return { totalPerMs: total, pickLevel, service, horizonMs };
  }
}

/** A priority's index in PRIORITIES (0 = critical), one better per agingMs waited, never above critical.
 *  The queue orders by this; the estimator's simulation applies the same rule. */
export function effectiveLevel(priority: Priority, waitedMs: number, agingMs: number): number {
  const steps = agingMs > 0 && Number.isFinite(agingMs) ? Math.floor(Math.max(0, waitedMs) / agingMs) : 0;
  return Math.max(0, PRIORITIES.indexOf(priority) - steps);
}

/** The waiting list to simulate: the queue's own when given, else `position` anonymous items ahead. */
function waitingList(ctx: EstimateContext): { waiting: QueuedWork[]; self: number } {
  if (ctx.waiting && ctx.self !== undefined && ctx.self >= 0 && ctx.self < ctx.waiting.length) {
    return { waiting: ctx.waiting, self: ctx.self };
  }
  const position = Math.max(0, ctx.position);
  const waiting: QueuedWork[] = [];
  const priority = ctx.priority ?? 'normal';
  for (let i = 0; i < position; i++) waiting.push({ priority: 'critical', waitedMs: 0, tokens: ctx.aheadTokens?.[i] });
  waiting.push({ priority, waitedMs: Math.max(0, ctx.waitedMs ?? 0), tokens: ctx.tokens });
  return { waiting, self: position };
}

/** A bare position estimate (no priority, no waiting list) says nothing about who may jump ahead. */
function arrivalsKnown(ctx: EstimateContext): boolean {
  return ctx.priority !== undefined || ctx.waiting !== undefined;
}

function downloadTime(ctx: EstimateContext): number {
  return ctx.downloadBytes && ctx.downloadBytes > 0 && ctx.bandwidthBytesPerS && ctx.bandwidthBytesPerS > 0
    ? (ctx.downloadBytes / ctx.bandwidthBytesPerS) * 1000
    : 0;
}

/** Time before the model can serve anything: download, then the remaining cooldown. */
function blockedTime(ctx: EstimateContext): number {
  return downloadTime(ctx) + Math.max(0, ctx.cooldownRemainingMs ?? 0);
}

function median(sorted: number[]): number {
  if (sorted.length === 0) return 0;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
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
