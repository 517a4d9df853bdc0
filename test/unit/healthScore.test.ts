import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeHealth, HEALTH_WEIGHTS, levelOf } from '../../server/core/healthScore';
import type { ModelHealth, ModelInfo, SystemSnapshot } from '../../protocol/types';

function model(id: string, over: Partial<ModelInfo> = {}, health: Partial<ModelHealth> = {}): ModelInfo {
  return {
    id,
    provider: id.split('/')[0] ?? id,
    name: id.split('/')[1] ?? id,
    kind: id.startsWith('local/') ? 'local' : 'cloud',
    availability: 'ready',
    capabilities: ['chat', 'code'],
    health: {
      state: 'healthy',
      successCount: 0,
      failureCount: 0,
      consecutiveFailures: 0,
      successRate: 1,
      avgLatencyMs: null,
      ...health,
    },
    ...over,
  };
}

const GB = 1024 ** 3;
const system = (availableGb: number): SystemSnapshot => ({
  platform: 'linux',
  cpu: { brand: 'x', cores: 2, loadPercent: 95 },
  memory: { totalBytes: 16 * GB, availableBytes: availableGb * GB },
  gpus: [],
});
const fits = (gb: number, ok = true, contextSize = 8192) => ({
  fit: { fits: ok, gpuLayers: 0, estimatedRamBytes: gb * GB, estimatedVramBytes: 0, contextSize },
});

test('levels at the documented thresholds', () => {
  assert.deepEqual([80, 79, 60, 59, 40, 39, 0].map(levelOf), [
    'excellent',
    'good',
    'good',
    'fair',
    'fair',
    'poor',
    'poor',
  ]);
});

test('a healthy chain with room scores excellent with every factor present', () => {
  const local = model(
    'local/qwen-1.5b',
    { ...fits(1.6), benchmark: { model: 'local/qwen-1.5b', ok: true, at: '', totalMs: 2000 } },
    { successCount: 50, failureCount: 1, p50LatencyMs: 2100 },
  );
  const cloud = model('openai/gpt-4o-mini', {}, { successCount: 20 });
  const h = computeHealth({ chain: [local.id, cloud.id], models: [local, cloud], system: system(8) });
  assert.equal(h.level, 'excellent');
  assert.ok(Number.isInteger(h.score) && h.score >= 95, `${h.score}`);
  assert.deepEqual(h.factors.map((f) => f.name).sort(), Object.keys(HEALTH_WEIGHTS).sort());
  for (const f of h.factors) assert.ok(f.score >= 0 && f.score <= 100 && f.detail.length > 0);
});

test('primary unavailable: lower score and at least one actionable recommendation naming it', () => {
  const primary = model(
    'openai/gpt-4o',
    {},
    { state: 'open', consecutiveFailures: 4, lastFailureMessage: '503 Service Unavailable', failureCount: 4 },
  );
  const backup = model('local/qwen-1.5b', fits(1.6), { successCount: 10 });
  const h = computeHealth({ chain: [primary.id, backup.id], models: [primary, backup], system: system(8) });
  assert.ok(h.score < 80, `${h.score}`);
  assert.ok(h.recommendations.length >= 1);
  assert.match(
    h.recommendations[0] ?? '',
    /The primary model openai\/gpt-4o is skipped after 4 consecutive failures \(503 Service Unavailable\)/,
  );
  const circuits = h.factors.find((f) => f.name === 'circuits');
  assert.match(circuits?.detail ?? '', /openai\/gpt-4o open/);
  const keyless = model('claude/haiku', {}, { needsKey: true });
  const k = computeHealth({ chain: [keyless.id], models: [keyless] });
  assert.ok(k.recommendations.some((r) => /claude\/haiku has no API key: set one/.test(r)));
  assert.equal(k.level, 'poor');
});

test('primary local model that does not fit: the memory recommendation with concrete numbers', () => {
  const big = model('local/qwen-7b', { quantization: 'Q8_0', ...fits(6.1, false, 8192) });
  const estimateFit = (_m: string, o: { contextSize: number }) => {
    const ramBytes = 2.5 * GB + o.contextSize * 0.17 * 1024 ** 2;
    return { ramBytes, vramBytes: 0, fits: ramBytes < 3.2 * GB };
  };
  const h = computeHealth({ chain: [big.id], models: [big], system: system(3.2), estimateFit });
  assert.ok(
    h.recommendations.includes(
      'local/qwen-7b needs 6.1 GB at ctx 8192 but 3.2 GB is free: use ctx 4096 or a Q4_K_M file.',
    ),
    JSON.stringify(h.recommendations),
  );
  const f = h.factors.find((x) => x.name === 'primaryFits');
  assert.equal(f?.score, 0);
  const mem = h.factors.find((x) => x.name === 'memoryHeadroom');
  assert.ok(mem && mem.score < 60, `${mem?.score}`);
  assert.ok(h.level === 'poor' || h.level === 'fair');
});

test('success rate and latency factors move the score and add recommendations', () => {
  const m = model(
    'local/a',
    { ...fits(1), benchmark: { model: 'local/a', ok: true, at: '', totalMs: 1000 } },
    { successCount: 10 },
  );
  const good = computeHealth({
    chain: [m.id, 'local/b'],
    models: [m, model('local/b', fits(1))],
    system: system(8),
    recentSuccessRate: 1,
    recentLatencyMs: { 'local/a': 1000 },
  });
  const bad = computeHealth({
    chain: [m.id, 'local/b'],
    models: [m, model('local/b', fits(1))],
    system: system(8),
    recentSuccessRate: 0.5,
    recentLatencyMs: { 'local/a': 6000 },
  });
  assert.ok(bad.score < good.score);
  assert.ok(bad.recommendations.some((r) => /Only 50 % of recent requests succeeded/.test(r)));
  assert.ok(
    bad.recommendations.some((r) => /local\/a answers 6\.0× slower than its benchmark .*CPU load 95 %/.test(r)),
    JSON.stringify(bad.recommendations),
  );
  assert.equal(good.recommendations.length, 0);
});

test('no chain → poor with a recommendation; single-model chain → suggests a fallback; offline hint', () => {
  const none = computeHealth({ chain: [], models: [] });
  assert.equal(none.level, 'poor');
  assert.ok(none.recommendations.length > 0);
  const cloud = model('openai/gpt-4o-mini', {}, { successCount: 5 });
  const local = model('local/a', fits(1));
  const one = computeHealth({ chain: [cloud.id], models: [cloud, local] });
  assert.ok(one.recommendations.some((r) => /add a second model/.test(r)));
  assert.ok(one.recommendations.some((r) => /local\/a is ready locally: add it to the chain/.test(r)));
  const unknown = computeHealth({ chain: ['x/nope'], models: [] });
  assert.match(unknown.recommendations[0] ?? '', /x\/nope is not a known model/);
});

test('issue 17: a reachable chain no request has tried is "untested", never "excellent"', () => {
  const a = model('cloud/w-503');
  const b = model('local/tiny');
  const h = computeHealth({ chain: [a.id, b.id], models: [a, b] });
  assert.equal(h.level, 'untested');
  assert.ok(h.score < 100, `${h.score}`);
  assert.match(h.recommendations[0] ?? '', /Failover Drill/);
  assert.match(h.factors.find((f) => f.name === 'chainAvailability')?.detail ?? '', /2 untested/);
  // A circuit nobody called says nothing: no circuits factor yet.
  assert.equal(
    h.factors.find((f) => f.name === 'circuits'),
    undefined,
  );
});

test('issue 17: an unreachable primary before any request is poor, not untested', () => {
  const a = model('cloud/down', { availability: 'unreachable', reason: 'network: ECONNREFUSED' });
  const b = model('local/tiny', { availability: 'missing' });
  const h = computeHealth({ chain: [a.id, b.id], models: [a, b] });
  assert.equal(h.level, 'poor');
});

test('issue 17: primary and first fallback failing (cooldowns over) while the last answers is not "good"', () => {
  const failing = {
    successCount: 0,
    failureCount: 6,
    consecutiveFailures: 3,
    successRate: 0,
    state: 'half_open' as const,
  };
  const a = model('cloud/w-503', {}, { ...failing, lastFailure: 'server_error' });
  const b = model('cloud/w-timeout', {}, { ...failing, lastFailure: 'timeout' });
  const c = model('local/tiny', {}, { successCount: 6 });
  const h = computeHealth({ chain: [a.id, b.id, c.id], models: [a, b, c], recentSuccessRate: 1 / 3, now: 0 });
  assert.ok(h.score < 60, `${h.score} (${h.level})`);
  assert.match(
    h.factors.find((f) => f.name === 'chainAvailability')?.detail ?? '',
    /primary cloud\/w-503: its last call failed/,
  );
});

test('issue 17: a primary that cannot be called while the fallback answers everything is fair at best', () => {
  const a = model('cloud/gpt-x', { availability: 'unreachable', reason: 'network: connection refused' });
  const b = model('local/tiny', fits(0.1), { successCount: 20 });
  const h = computeHealth({ chain: [a.id, b.id], models: [a, b], system: system(8), recentSuccessRate: 1 });
  assert.equal(h.level, 'fair', `${h.score}`);
  // The same models the other way round: the primary answers, the fallback is down: no cap.
  const ok = computeHealth({ chain: [b.id, a.id], models: [a, b], system: system(8), recentSuccessRate: 1 });
  assert.ok(ok.score >= 60, `${ok.score}`);
});

test('issue 17: a skipped model says when it is tried again in words, never an ISO time', () => {
  const until = new Date(1_000_000 + 280_000).toISOString();
  const a = model(
    'cloud/w-503',
    {},
    { state: 'open', failureCount: 5, consecutiveFailures: 5, cooldownUntil: until, lastFailure: 'server_error' },
  );
  const b = model('local/tiny', {}, { successCount: 2 });
  const h = computeHealth({ chain: [a.id, b.id], models: [a, b], now: 1_000_000 });
  const text = h.recommendations.join(' ');
  assert.match(text, /tried again in 4 min 40 s/);
  assert.doesNotMatch(text, /\d{4}-\d\d-\d\dT/);
});
