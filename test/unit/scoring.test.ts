import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../helpers/fakeClock';
import {
  parseParameters,
  quantizationBits,
  qualityDelta,
  scoreCandidates,
  SuggestionCache,
  WEIGHTS,
} from '../../server/core/scoring';
import { modelInfo } from '../helpers/modelInfo';

const model = modelInfo;

const requested = model('local/qwen-7b', {
  parameters: '7B',
  quantization: 'Q4_K_M',
  capabilities: ['chat', 'code', 'fim'],
  contextLength: 8192,
});

test('weights sum to 1 so the score stays in 0..1', () => {
  const sum = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-9);
});

test('ranks capability matches first and marks unavailable models, never above an available one', () => {
  const cands = [
    requested,
    model('local/qwen-1.5b', { parameters: '1.5B', quantization: 'Q4_K_M', capabilities: ['chat', 'code', 'fim'] }),
    model(
      'openai/gpt-4o',
      { capabilities: ['chat', 'code', 'fim', 'tools'] },
      { state: 'open', consecutiveFailures: 5 },
    ),
    model('local/tiny-chat', { parameters: '0.5B', quantization: 'Q8_0', capabilities: ['chat'] }),
    model('local/broken', {
      availability: 'incompatible',
      reason: 'truncated file',
      capabilities: ['chat', 'code', 'fim'],
    }),
  ];
  const s = scoreCandidates(requested, cands);
  assert.deepEqual(
    s.map((x) => x.model),
    ['local/qwen-1.5b', 'local/tiny-chat', 'openai/gpt-4o', 'local/broken'],
  );
  assert.ok(!s.some((x) => x.model === requested.id), 'the requested model is not its own alternative');
  assert.deepEqual(
    s.map((x) => x.available),
    [true, true, false, false],
  );
  for (const x of s) assert.ok(x.score >= 0 && x.score <= 1);
  const open = s.find((x) => x.model === 'openai/gpt-4o');
  assert.ok(
    open?.reasons.some((r) => /circuit open after 5 failures/.test(r)),
    JSON.stringify(open?.reasons),
  );
  const broken = s.find((x) => x.model === 'local/broken');
  assert.ok(broken?.reasons.some((r) => /incompatible \(truncated file\)/.test(r)));
  const tiny = s.find((x) => x.model === 'local/tiny-chat');
  assert.ok(
    tiny?.reasons.some((r) => /cannot do code, fim/.test(r)),
    JSON.stringify(tiny?.reasons),
  );
});

test('requirements: minContext and required capabilities change the ranking', () => {
  const a = model('local/a', { contextLength: 4096, capabilities: ['chat', 'code'] });
  const b = model('local/b', { contextLength: 32_768, capabilities: ['chat', 'code', 'vision'] });
  const plain = scoreCandidates({ id: 'x/y' }, [a, b]);
  const need = scoreCandidates({ id: 'x/y' }, [a, b], { minContext: 16_000, capabilities: ['vision'] });
  assert.equal(need[0]?.model, 'local/b');
  assert.ok(
    (need.find((x) => x.model === 'local/a')?.score ?? 1) < (plain.find((x) => x.model === 'local/a')?.score ?? 0),
  );
  assert.ok(
    need.find((x) => x.model === 'local/a')?.reasons.some((r) => /context 4096 is below the required 16000/.test(r)),
  );
});

test('qualityDelta from parameters × bits, else benchmark speed, in -1..1', () => {
  assert.equal(parseParameters('7B'), 7e9);
  assert.equal(parseParameters('0.5b'), 5e8);
  assert.equal(parseParameters('103M'), 103e6);
  assert.equal(quantizationBits('Q4_K_M'), 4.5);
  assert.equal(quantizationBits('F16'), 16);
  assert.equal(quantizationBits('Q8_0'), 8);
  const small = model('local/s', { parameters: '1.5B', quantization: 'Q4_K_M' });
  const big = model('local/b', { parameters: '70B', quantization: 'Q8_0' });
  assert.ok(qualityDelta(requested, small) < 0);
  assert.ok(qualityDelta(requested, big) > 0);
  assert.ok(qualityDelta(requested, big) <= 1 && qualityDelta(small, big) <= 1);
  const fast = model('c/fast', { benchmark: { model: 'c/fast', ok: true, at: '', tokensPerSecond: 200 } });
  const slow = model('c/slow', { benchmark: { model: 'c/slow', ok: true, at: '', tokensPerSecond: 50 } });
  assert.ok(qualityDelta(slow, fast) < 0, 'faster on the same machine: a smaller model');
  assert.equal(qualityDelta({ id: 'x/y' }, fast), 0);
});

test('estimatedWaitMs comes from opts.waitMs', () => {
  const s = scoreCandidates(
    requested,
    [model('local/a')],
    {},
    { waitMs: (m) => (m === 'local/a' ? 1234.4 : undefined) },
  );
  assert.equal(s[0]?.estimatedWaitMs, 1234);
});

test('SuggestionCache: per (model, requirements), invalidated on demand and after ttl', async () => {
  const clock = new FakeClock();
  const cache = new SuggestionCache({ clock, ttlMs: 1000 });
  let computed = 0;
  const compute = () => (computed++, []);
  cache.get('m', { capabilities: ['code', 'fim'] }, compute);
  cache.get('m', { capabilities: ['fim', 'code'] }, compute); // same requirements, other order
  assert.equal(computed, 1);
  cache.get('m', { minContext: 8000 }, compute);
  assert.equal(computed, 2);
  cache.invalidate();
  cache.get('m', { minContext: 8000 }, compute);
  assert.equal(computed, 3);
  await clock.advance(1000);
  cache.get('m', { minContext: 8000 }, compute);
  assert.equal(computed, 4);
});

test('SuggestionCache is bounded: past maxEntries the oldest pair is computed again', () => {
  const cache = new SuggestionCache({ maxEntries: 3 });
  let computed = 0;
  const get = (m: string) => cache.get(m, undefined, () => (computed++, []));
  for (const m of ['a/1', 'a/2', 'a/3', 'a/4']) get(m);
  assert.equal(computed, 4);
  get('a/4');
  get('a/2');
  assert.equal(computed, 4, 'recent pairs are kept');
  get('a/1');
  assert.equal(computed, 5, 'the oldest pair was evicted');
});
