// Seeded queue workloads on the fake clock for scoring wait estimates (test/unit/waitAccuracy.test.ts):
// every request's estimatedWaitMs as `backstop/queue` reported it at enqueue time, against the time it
// actually waited for its slot. The queue and estimator classes are parameters so that the same
// workloads can score an older estimator (the before/after figures of the README's Measurements).
import type { Priority } from '../../protocol/types';
import { mulberry32 } from '../../server/core/waitMath';
import { FakeClock } from './fakeClock';

/** The 197 MiB f16 benchmark fixture (`bench`) on the 2-core CI machine, one thread: 82–98 tok/s,
 *  first token after 0.33–0.52 s (test/integration/benchmarkMemory.test.ts prints it each run). */
export const MODEL = { sizeBytes: 206_666_592, ttftMs: 400, msPerToken: 11 } as const;
/** Run-to-run spread of a request's time once its maxTokens is known (log-normal σ): `backstop bench`
 *  measures tg sd/mean ≈ 5 % here; early stops and prompt length add the rest. */
export const SIGMA = 0.1;
export const UTILISATION = 0.8;
/** Waits shorter than this are not scored: a percentage of a few milliseconds means nothing. */
export const MIN_ACTUAL_WAIT_MS = 1000;

export interface Arrival {
  at: number;
  priority: Priority;
  maxTokens: number;
  serviceMs: number;
}

export interface Outcome {
  estimateMs: number;
  actualMs: number;
  priority: Priority;
}

export type Knowledge = 'nothing' | 'benchmark' | 'size';

/** What the estimator is told before the first request, in the API of the estimator under test. */
export interface EstimatorLike {
  setPrior(model: string, p: { tokensPerSecond?: number; ttftMs?: number }): void;
  setPriorSource?(f: (model: string) => Record<string, unknown> | undefined): void;
}

export interface Classes<E extends EstimatorLike> {
  Estimator: new (deps: { clock: FakeClock }) => E;
  Queue: new (deps: {
    clock: FakeClock;
    estimator: E;
    maxSize: () => number;
    maxWaitMs: () => number;
    concurrency: () => number;
  }) => {
    acquire(
      model: string,
      priority: Priority,
      signal: AbortSignal,
      opts: { expectedTokens?: number; onQueued?: (id: string) => void },
    ): Promise<() => void>;
    items(): { id: string; estimatedWaitMs: number }[];
    length(): number;
  };
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** maxTokens: 64 (inline completion) 40 %, 256 (edit) 40 %, 1024 (chat answer) 20 %. */
function pickSize(r: number): number {
  return r < 0.4 ? 64 : r < 0.8 ? 256 : 1024;
}

/** critical/high/normal/low at 10/20/40/30 %, or all normal (FIFO). */
function pickPriority(r: number, mixed: boolean): Priority {
  if (!mixed) return 'normal';
  return r < 0.1 ? 'critical' : r < 0.3 ? 'high' : r < 0.7 ? 'normal' : 'low';
}

function serviceMs(maxTokens: number, rand: () => number): number {
  const typical = MODEL.ttftMs + MODEL.msPerToken * maxTokens;
  return Math.round(typical * Math.exp(SIGMA * gaussian(rand) - (SIGMA * SIGMA) / 2));
}

export const MEAN_SERVICE_MS = MODEL.ttftMs + MODEL.msPerToken * (0.4 * 64 + 0.4 * 256 + 0.2 * 1024);

/** `n` Poisson arrivals at UTILISATION of one slot. */
export function poisson(seed: number, n: number, mixed: boolean): Arrival[] {
  const rand = mulberry32(seed);
  const gap = MEAN_SERVICE_MS / UTILISATION;
  const out: Arrival[] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    at += -Math.log(Math.max(rand(), 1e-12)) * gap;
    const priority = pickPriority(rand(), mixed);
    const maxTokens = pickSize(rand());
    out.push({ at: Math.round(at), priority, maxTokens, serviceMs: serviceMs(maxTokens, rand) });
  }
  return out;
}

/** A burst of `n` requests within the first second (a script, a batch, a test run). */
export function burst(seed: number, n: number, mixed: boolean): Arrival[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    const priority = pickPriority(rand(), mixed);
    const maxTokens = pickSize(rand());
    return { at: Math.round((i * 1000) / n), priority, maxTokens, serviceMs: serviceMs(maxTokens, rand) };
  });
}

function tell<E extends EstimatorLike>(estimator: E, knows: Knowledge, seed: number): void {
  const rand = mulberry32(seed ^ 0xbe11);
  if (knows === 'benchmark') {
    // A stored `backstop bench` result: tg and TTFT measured with their run-to-run spread.
    const tokensPerSecond = (1000 / MODEL.msPerToken) * (1 + 0.05 * gaussian(rand));
    const ttftMs = MODEL.ttftMs * (1 + 0.1 * gaussian(rand));
    if (estimator.setPriorSource) estimator.setPriorSource(() => ({ kind: 'local', tokensPerSecond, ttftMs }));
    else estimator.setPrior('m', { tokensPerSecond, ttftMs });
  } else if (knows === 'size') {
    estimator.setPriorSource?.(() => ({ kind: 'local', sizeBytes: MODEL.sizeBytes }));
  }
}

/** Run `arrivals` through a fresh queue and estimator (one slot) and collect each queued request's
 *  estimate at enqueue time and its actual wait. */
export async function run<E extends EstimatorLike>(
  c: Classes<E>,
  arrivals: Arrival[],
  knows: Knowledge,
  seed: number,
): Promise<Outcome[]> {
  const clock = new FakeClock();
  const estimator = new c.Estimator({ clock });
  tell(estimator, knows, seed);
  const queue = new c.Queue({
    clock,
    estimator,
    maxSize: () => 10_000,
    maxWaitMs: () => 3_600_000,
    concurrency: () => 1,
  });
  const outcomes: Outcome[] = [];
  const done: Promise<void>[] = [];
  for (const a of arrivals) {
    clock.setTimeout(() => {
      const arrived = clock.now();
      let estimateMs: number | undefined;
      const p = queue.acquire('m', a.priority, new AbortController().signal, {
        expectedTokens: a.maxTokens,
        onQueued: (id) => (estimateMs = queue.items().find((x) => x.id === id)?.estimatedWaitMs),
      });
      done.push(
        p.then((release) => {
          if (estimateMs !== undefined)
            outcomes.push({ estimateMs, actualMs: clock.now() - arrived, priority: a.priority });
          clock.setTimeout(release, a.serviceMs);
        }),
      );
    }, a.at);
  }
  const last = arrivals.reduce((m, a) => Math.max(m, a.at), 0);
  await clock.advance(last + 3_600_000);
  await Promise.all(done);
  if (queue.length() !== 0) throw new Error('the queue did not drain');
  return outcomes;
}

export interface Score {
  n: number;
  /** Mean absolute percentage error over waits ≥ MIN_ACTUAL_WAIT_MS. */
  mape: number;
  /** Σestimate / Σactual: above 1 too high. */
  ratio: number;
}

export function score(outcomes: Outcome[]): Score {
  const xs = outcomes.filter((o) => o.actualMs >= MIN_ACTUAL_WAIT_MS);
  const sumActual = xs.reduce((s, o) => s + o.actualMs, 0);
  return {
    n: xs.length,
    mape: (100 * xs.reduce((s, o) => s + Math.abs(o.estimateMs - o.actualMs) / o.actualMs, 0)) / Math.max(1, xs.length),
    ratio: xs.reduce((s, o) => s + o.estimateMs, 0) / Math.max(1, sumActual),
  };
}

export interface Scenario {
  name: string;
  make: (seed: number) => Arrival[];
  knows: Knowledge;
  seeds: number[];
  /** The MAPE this scenario is held to (the 25 %, or a documented ceiling). */
  maxMape: number;
}

const STEADY_SEEDS = [11, 12, 13];
const COLD_SEEDS = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20];

export const TARGET_MAPE_PERCENT = 25;

/** The queues the README's Measurements report. The last three are held to ceilings, not to the 25 %:
 *  within a burst, higher-priority requests that have not arrived yet decide a lower one's wait (given
 *  the true arrival process outright, the mixed burst still scores ~25.5 %), and the first minutes of
 *  mixed traffic score ~29 % even for an estimator warmed with 60 requests of history. */
export const SCENARIOS: Scenario[] = [
  {
    name: 'FIFO (300 requests, all normal)',
    make: (s) => poisson(s, 300, false),
    knows: 'benchmark',
    seeds: STEADY_SEEDS,
    maxMape: TARGET_MAPE_PERCENT,
  },
  {
    name: 'mixed priorities (300 requests)',
    make: (s) => poisson(s, 300, true),
    knows: 'benchmark',
    seeds: STEADY_SEEDS,
    maxMape: TARGET_MAPE_PERCENT,
  },
  {
    name: 'cold start, FIFO burst of 12, stored benchmark',
    make: (s) => burst(s, 12, false),
    knows: 'benchmark',
    seeds: COLD_SEEDS,
    maxMape: TARGET_MAPE_PERCENT,
  },
  {
    name: 'cold start, FIFO burst of 12, model size only',
    make: (s) => burst(s, 12, false),
    knows: 'size',
    seeds: COLD_SEEDS,
    maxMape: TARGET_MAPE_PERCENT,
  },
  {
    name: 'cold start, mixed burst of 12, stored benchmark',
    make: (s) => burst(s, 12, true),
    knows: 'benchmark',
    seeds: COLD_SEEDS,
    maxMape: 30,
  },
  {
    name: 'cold start, mixed burst of 12, model size only',
    make: (s) => burst(s, 12, true),
    knows: 'size',
    seeds: COLD_SEEDS,
    maxMape: 35,
  },
  {
    name: 'cold start, the first 40 of mixed traffic, stored benchmark',
    make: (s) => poisson(s, 40, true),
    knows: 'benchmark',
    seeds: COLD_SEEDS,
    maxMape: 35,
  },
];

export async function scoreScenario<E extends EstimatorLike>(c: Classes<E>, sc: Scenario): Promise<Score> {
  const all: Outcome[] = [];
  for (const seed of sc.seeds) all.push(...(await run(c, sc.make(seed), sc.knows, seed)));
  return score(all);
}

export function show(name: string, s: Score): string {
  return `${name}: MAPE ${s.mape.toFixed(1)} % (Σestimate/Σactual ${s.ratio.toFixed(2)}, ${s.n} waits ≥ ${MIN_ACTUAL_WAIT_MS} ms)`;
}
