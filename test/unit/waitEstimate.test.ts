import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../helpers/fakeClock';
import {
  CLOUD_MS_PER_TOKEN,
  CLOUD_TTFT_MS,
  DEFAULT_PROCESSING_MS,
  LOCAL_BYTES_PER_MS,
  LOCAL_MIN_MS_PER_TOKEN,
  LOCAL_TTFT_TOKENS,
  WaitEstimator,
  type PriorFacts,
} from '../../server/core/waitEstimate';
import { meanResidual } from '../../server/core/waitMath';

test('prior from benchmark tokens/s × expected tokens, then EWMA of observations', () => {
  const e = new WaitEstimator({ clock: new FakeClock() });
  assert.equal(e.processing('m').meanMs, DEFAULT_PROCESSING_MS);
  e.setPrior('m', { tokensPerSecond: 50, expectedTokens: 100, ttftMs: 200 });
  const prior = e.estimate('m', { position: 0, concurrency: 1, running: 0 });
  assert.equal(prior.factors.processingMs, 2200);
  assert.equal(prior.totalMs, 2200);
  for (let i = 0; i < 30; i++) e.observe('m', 1000);
  assert.ok(Math.abs(e.processing('m').meanMs - 1000) < 1);
});

test('confidence grows with samples and shrinks with variance', () => {
  const e = new WaitEstimator({ clock: new FakeClock() });
  const none = e.estimate('a', { position: 0, concurrency: 1, running: 0 }).confidence;
  e.observe('a', 1000);
  const one = e.estimate('a', { position: 0, concurrency: 1, running: 0 }).confidence;
  for (let i = 0; i < 20; i++) e.observe('a', 1000);
  const many = e.estimate('a', { position: 0, concurrency: 1, running: 0 }).confidence;
  for (let i = 0; i < 21; i++) e.observe('b', i % 2 ? 200 : 1800);
  const noisy = e.estimate('b', { position: 0, concurrency: 1, running: 0 }).confidence;
  assert.ok(none < one && one < many, `${none} ${one} ${many}`);
  assert.ok(noisy < many, `${noisy} < ${many}`);
});

test('queue time × position ÷ concurrency, plus download and cooldown', () => {
  const e = new WaitEstimator({ clock: new FakeClock() });
  for (let i = 0; i < 10; i++) e.observe('m', 4000);
  const c1 = e.estimate('m', { position: 3, concurrency: 1, running: 1, runningElapsedMs: [0] });
  assert.equal(c1.factors.queueMs, 16_000);
  const c2 = e.estimate('m', { position: 3, concurrency: 2, running: 2, runningElapsedMs: [0, 0] });
  assert.equal(c2.factors.queueMs, 8000);
  const free = e.estimate('m', { position: 0, concurrency: 2, running: 1 });
  assert.equal(free.factors.queueMs, 0);
  const dl = e.estimate('m', {
    position: 0,
    concurrency: 1,
    running: 0,
    downloadBytes: 50e6,
    bandwidthBytesPerS: 10e6,
    cooldownRemainingMs: 3000,
  });
  assert.equal(dl.factors.downloadMs, 5000);
  assert.equal(dl.factors.cooldownMs, 3000);
  assert.equal(dl.totalMs, 5000 + 3000 + 4000);
});

test('sized requests: a long request ahead counts longer than a short one', () => {
  const e = new WaitEstimator({ clock: new FakeClock() });
  for (let i = 0; i < 20; i++) {
    e.observe('m', 300 + 10 * 64, 64);
    e.observe('m', 300 + 10 * 1024, 1024);
  }
  assert.ok(Math.abs(e.processing('m', 256).meanMs - (300 + 2560)) < 50, `${e.processing('m', 256).meanMs}`);
  const short = e.estimate('m', { position: 1, aheadTokens: [64], concurrency: 1, running: 0 });
  const long = e.estimate('m', { position: 1, aheadTokens: [1024], concurrency: 1, running: 0 });
  assert.ok(long.factors.queueMs > 5 * short.factors.queueMs);
});

test('higher-priority arrivals are expected to jump ahead of a low item, not of a critical one', async () => {
  const clock = new FakeClock();
  const e = new WaitEstimator({ clock });
  for (let i = 0; i < 10; i++) e.observe('m', 1000);
  for (let i = 0; i < 60; i++) {
    e.observeArrival('m', 'critical'); // one critical per 2 s: half the capacity
    await clock.advance(2000);
  }
  const base = { position: 2, concurrency: 1, running: 0 };
  const crit = e.estimate('m', { ...base, priority: 'critical' });
  assert.equal(crit.factors.queueMs, 2000);
  // The mean wait is the busy period 2000 / (1 − 0.5) = 4000 (up to the 1 s granularity of the jumps);
  // the estimate is the median, shorter because a burst of arrivals can stretch the wait a lot.
  const low = e.waitDistribution('m', { ...base, priority: 'low' });
  assert.ok(Math.abs(low.meanMs - 4000) < 400, `mean ${low.meanMs}`);
  const lowEst = e.estimate('m', { ...base, priority: 'low' });
  assert.equal(lowEst.factors.queueMs, Math.round(low.medianMs));
  assert.ok(lowEst.factors.queueMs > 2000 && lowEst.factors.queueMs < low.meanMs, `${lowEst.factors.queueMs}`);
  assert.ok(lowEst.confidence < crit.confidence, 'an uncertain wait is trusted less');
  const aged = e.estimate('m', { ...base, priority: 'low', agingMs: 1000, waitedMs: 3000 });
  assert.equal(aged.factors.queueMs, 2000, 'fully aged: nothing jumps');
});

test('the same queue gets the same estimate, and estimateAll agrees with estimate', () => {
  const e = new WaitEstimator({ clock: new FakeClock() });
  for (let i = 0; i < 20; i++) e.observe('m', i % 2 ? 3000 : 5000, 256);
  const waiting = [
    { priority: 'low' as const, waitedMs: 10_000, tokens: 256 },
    { priority: 'high' as const, waitedMs: 2000, tokens: 64 },
    { priority: 'normal' as const, waitedMs: 0, tokens: 1024 },
  ];
  const ctx = {
    position: 0,
    concurrency: 1,
    running: 1,
    runningElapsedMs: [1500],
    runningTokens: [256],
    agingMs: 60_000,
    waiting,
  };
  const all = e.estimateAll('m', ctx);
  for (let i = 0; i < waiting.length; i++) {
    const one = e.estimate('m', { ...ctx, self: i, priority: waiting[i]?.priority ?? 'normal' });
    assert.deepEqual(one.factors, all[i]?.factors);
    assert.deepEqual(e.estimate('m', { ...ctx, self: i, priority: waiting[i]?.priority ?? 'normal' }), one);
  }
  // The running request has a 4 s mean and ran 1.5 s: the first item waits for its remainder.
  const first = all[1]?.factors.queueMs ?? 0;
  assert.ok(first > 1500 && first < 3500, `${first}`);
  // Then normal (outranks low), then low after normal's 1024 tokens.
  assert.ok(
    (all[2]?.factors.queueMs ?? 0) > first && (all[0]?.factors.queueMs ?? 0) > (all[2]?.factors.queueMs ?? 0) + 8000,
  );
});

test('remaining time of a request already past its mean is short but not zero', () => {
  const e = new WaitEstimator({ clock: new FakeClock() });
  for (let i = 0; i < 20; i++) e.observe('m', i % 2 ? 3000 : 5000, 256);
  const w = (elapsed: number) =>
    e.estimate('m', { position: 0, concurrency: 1, running: 1, runningElapsedMs: [elapsed], runningTokens: [256] })
      .factors.queueMs;
  assert.ok(w(0) > w(2000) && w(2000) > w(6000), `${w(0)} ${w(2000)} ${w(6000)}`);
  assert.ok(w(6000) > 0 && w(6000) < 1500, `${w(6000)}`);
});

test('remaining time of a running request', () => {
  assert.equal(meanResidual(4000, 0, 1000), 3000);
  assert.ok(Math.abs(meanResidual(4000, 100, 1000) - 3000) < 1);
  const late = meanResidual(4000, 1000, 6000);
  assert.ok(late > 0 && late < 1000, `${late}`);
});

test('cold-start priors: stored benchmark, then call history, then model size or kind; dropped at the first observation', () => {
  const e = new WaitEstimator({ clock: new FakeClock() });
  const facts: Record<string, PriorFacts> = {
    bench: { kind: 'local', tokensPerSecond: 100, ttftMs: 400, latencyMs: 9000, sizeBytes: 4e9 },
    hist: { kind: 'cloud', latencyMs: 2500 },
    size: { kind: 'local', sizeBytes: 200e6 },
    tiny: { kind: 'local', sizeBytes: 500_000 },
    cloud: { kind: 'cloud' },
  };
  e.setPriorSource((m) => facts[m]);
  // Sized: the benchmark's speed × maxTokens.
  assert.equal(e.processing('bench', 100).meanMs, 400 + 100 * 10);
  // Unsized: what the model's calls took (its history) before a guess.
  assert.equal(e.processing('bench').meanMs, 9000);
  assert.equal(e.processing('hist', 64).meanMs, 2500);
  // Size: 200 MB read once per token at LOCAL_BYTES_PER_MS; the first token after LOCAL_TTFT_TOKENS of them.
  const msPerToken = 200e6 / LOCAL_BYTES_PER_MS;
  assert.equal(e.processing('size', 100).meanMs, (LOCAL_TTFT_TOKENS + 100) * msPerToken);
  assert.equal(e.processing('tiny', 100).meanMs, (LOCAL_TTFT_TOKENS + 100) * LOCAL_MIN_MS_PER_TOKEN);
  assert.equal(e.processing('cloud', 100).meanMs, CLOUD_TTFT_MS + 100 * CLOUD_MS_PER_TOKEN);
  assert.equal(e.processing('unknown', 100).meanMs, DEFAULT_PROCESSING_MS);
  // A benchmark is trusted more (and assumed tighter) than a guess.
  const b = e.processing('bench', 100);
  const g = e.processing('size', 100);
  assert.ok(b.confidence > g.confidence && b.sdMs / b.meanMs < g.sdMs / g.meanMs);
  // Once the model has served, its own measurements replace the prior.
  e.observe('size', 777, 100);
  assert.equal(e.processing('size', 100).meanMs, 777);
});

test('before any history, a request of maxTokens n is estimated from the prior, not a 10 s default', () => {
  const e = new WaitEstimator({ clock: new FakeClock() });
  e.setPriorSource(() => ({ kind: 'local', tokensPerSecond: 50, ttftMs: 200 }));
  const short = e.estimate('m', { position: 1, aheadTokens: [64], concurrency: 1, running: 0, tokens: 64 });
  assert.equal(short.factors.processingMs, 200 + 64 * 20);
  assert.ok(Math.abs(short.factors.queueMs - (200 + 64 * 20)) < 200, `${short.factors.queueMs}`);
});

test('arrivals are not extrapolated beyond the time they were observed: a burst at start is not a stream', async () => {
  const clock = new FakeClock();
  const e = new WaitEstimator({ clock });
  for (let i = 0; i < 10; i++) e.observe('m', 1000);
  // Ten critical requests within 100 ms of the first request ever: no 0.3/s stream of urgent work follows.
  for (let i = 0; i < 10; i++) {
    e.observeArrival('m', 'critical');
    await clock.advance(10);
  }
  const low = e.estimate('m', { position: 3, concurrency: 1, running: 0, priority: 'low' });
  assert.ok(low.factors.queueMs <= 3100, `${low.factors.queueMs}`);
});
