import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../helpers/fakeClock';
import { DEFAULT_PROCESSING_MS, meanResidual, WaitEstimator } from '../../server/core/waitEstimate';

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
  const dl = e.estimate('m', { position: 0, concurrency: 1, running: 0, downloadBytes: 50e6, bandwidthBytesPerS: 10e6, cooldownRemainingMs: 3000 });
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
  const low = e.estimate('m', { ...base, priority: 'low' });
  assert.equal(crit.factors.queueMs, 2000);
  assert.ok(Math.abs(low.factors.queueMs - 4000) < 200, `${low.factors.queueMs}`); // 2000 / (1 − 0.5)
  const aged = e.estimate('m', { ...base, priority: 'low', agingMs: 1000, waitedMs: 3000 });
  assert.equal(aged.factors.queueMs, 2000, 'fully aged: nothing jumps');
});

test('remaining time of a running request', () => {
  assert.equal(meanResidual(4000, 0, 1000), 3000);
  assert.ok(Math.abs(meanResidual(4000, 100, 1000) - 3000) < 1);
  const late = meanResidual(4000, 1000, 6000);
  assert.ok(late > 0 && late < 1000, `${late}`);
});
