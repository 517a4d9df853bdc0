import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planFallback, MIN_CONTEXT_SIZE, type PlanContext } from '../../server/core/planner';
import type { FailureKind } from '../../protocol/types';
import { modelInfo } from '../helpers/modelInfo';

const model = modelInfo;

const GB = 1024 ** 3;
const bench = (id: string, tps: number, ttftMs = 200) => ({
  benchmark: { model: id, ok: true, at: '', tokensPerSecond: tps, ttftMs },
});
const qwen7 = model('local/qwen-7b', {
  parameters: '7B',
  quantization: 'Q4_K_M',
  sizeBytes: 4.4 * GB,
  contextLength: 32_768,
  fit: { fits: false, gpuLayers: 0, estimatedRamBytes: 6.1 * GB, estimatedVramBytes: 0, contextSize: 8192 },
});
const qwen1 = model('local/qwen-1.5b', {
  parameters: '1.5B',
  quantization: 'Q4_K_M',
  sizeBytes: 1.1 * GB,
  contextLength: 32_768,
  fit: { fits: true, gpuLayers: 0, estimatedRamBytes: 1.6 * GB, estimatedVramBytes: 0 },
  ...bench('local/qwen-1.5b', 40),
});
const gpt = model('openai/gpt-4o-mini', {
  capabilities: ['chat', 'code', 'tools'],
  contextLength: 128_000,
  ...bench('openai/gpt-4o-mini', 80, 400),
});
const models = [qwen7, qwen1, gpt];

function plan(failure: FailureKind, over: Partial<PlanContext> = {}) {
  return planFallback({ model: 'openai/gpt-4o-mini', failure, models, mockGeneration: false, ...over });
}

test('model_missing: alternative, plus download_and_retry when a source is known', () => {
  const p = plan('model_missing', {
    model: 'ollama/qwen2.5:3b',
    downloadSource: () => ({ kind: 'ollama_pull', sizeBytes: 1.9 * GB }),
  });
  assert.equal(p.failure, 'model_missing');
  assert.equal(p.recommended.type, 'alternative_model');
  const dl = p.options.find((o) => o.type === 'download_and_retry');
  assert.ok(dl, 'download offered');
  assert.match(dl.message, /ollama pull qwen2\.5:3b/);
  assert.ok((dl.estimatedWaitMs ?? 0) > 60_000, 'a 1.9 GB download takes minutes');
  const gguf = plan('model_missing', {
    model: 'local/x',
    downloadSource: () => ({ kind: 'gguf_url', url: 'http://h/x.gguf' }),
  });
  assert.match(
    gguf.options.find((o) => o.type === 'download_and_retry')?.message ?? '',
    /http:\/\/h\/x\.gguf \(resumable, checksum verified\)/,
  );
  assert.equal(
    plan('model_missing', { model: 'local/x' }).options.some((o) => o.type === 'download_and_retry'),
    false,
  );
});

test('out_of_memory: reduce_requirements with adjustments that fit, then a lighter model', () => {
  const tried: { contextSize: number; gpuLayers: number }[] = [];
  // Fits from ctx 2048 down: 4.4 GB weights + 0.4 MB per context token, against 5.3 GB free.
  const estimateFit = (_m: string, o: { contextSize: number; gpuLayers: number }) => {
    tried.push(o);
    const ramBytes = 4.4 * GB + o.contextSize * 0.4 * 1024 ** 2;
    return { ramBytes, vramBytes: 0, fits: ramBytes < 5.3 * GB };
  };
  const p = plan('out_of_memory', { model: 'local/qwen-7b', estimateFit, freeMemoryBytes: 5.3 * GB, maxTokens: 1024 });
  assert.equal(p.recommended.type, 'reduce_requirements');
  assert.deepEqual(p.recommended.adjustments, { contextSize: 2048, gpuLayers: 0, maxTokens: 512 });
  assert.ok(estimateFit('local/qwen-7b', { contextSize: 2048, gpuLayers: 0 }).fits, 'the proposal fits');
  assert.deepEqual(
    tried.slice(0, 3).map((t) => t.contextSize),
    [8192, 4096, 2048],
  );
  assert.match(
    p.recommended.message,
    /local\/qwen-7b needs 7\.6 GB at ctx 8192 but 5\.3 GB is free: retry with ctx 2048/,
  );
  const light = p.options.find((o) => o.type === 'alternative_model' && o.model === 'local/qwen-1.5b');
  assert.ok(light, 'lighter local alternative offered');
});

test('out_of_memory: gpu layers are reduced when context alone does not help', () => {
  const big = {
    ...qwen7,
    fit: { fits: false, gpuLayers: 32, estimatedRamBytes: 1 * GB, estimatedVramBytes: 6 * GB, contextSize: 4096 },
  };
  const estimateFit = (_m: string, o: { contextSize: number; gpuLayers: number }) => {
    const vramBytes = o.gpuLayers * 0.15 * GB + o.contextSize * 1024 ** 2 * 0.1;
    return { ramBytes: 1 * GB, vramBytes, fits: vramBytes < 3 * GB };
  };
  const p = planFallback({
    model: 'local/qwen-7b',
    failure: 'out_of_memory',
    models: [big, qwen1],
    mockGeneration: false,
    estimateFit,
  });
  assert.equal(p.recommended.type, 'reduce_requirements');
  assert.equal(p.recommended.adjustments?.contextSize, 2048);
  assert.equal(p.recommended.adjustments?.gpuLayers, 16);
});

test('out_of_memory: nothing fits down to the floor → lighter alternative recommended', () => {
  const p = plan('out_of_memory', {
    model: 'local/qwen-7b',
    estimateFit: () => ({ ramBytes: 9 * GB, vramBytes: 0, fits: false }),
  });
  assert.notEqual(p.recommended.type, 'reduce_requirements');
  assert.equal(
    p.options.some((o) => o.type === 'reduce_requirements'),
    false,
  );
  assert.ok(MIN_CONTEXT_SIZE >= 256);
});

test('rate_limited: short Retry-After → wait; long → alternative (by expected time to answer)', () => {
  const quick = plan('rate_limited', { retryAfterMs: 2000 });
  assert.equal(quick.recommended.type, 'queue_and_wait');
  assert.equal(quick.recommended.estimatedWaitMs, 2000);
  assert.match(quick.recommended.message, /in about 2 s/);
  const slow = plan('rate_limited', { retryAfterMs: 120_000 });
  assert.equal(slow.recommended.type, 'alternative_model');
  assert.ok(slow.options.some((o) => o.type === 'queue_and_wait' && o.estimatedWaitMs === 120_000));
});

test('network: a local alternative first (works offline)', () => {
  const other = model('claude/haiku', { capabilities: ['chat', 'code', 'tools'], ...bench('claude/haiku', 300, 100) });
  const p = planFallback({
    model: 'openai/gpt-4o-mini',
    failure: 'network',
    models: [...models, other],
    mockGeneration: false,
  });
  assert.equal(p.recommended.type, 'alternative_model');
  assert.equal(p.recommended.model, 'local/qwen-1.5b');
  assert.match(p.recommended.message, /Works offline/);
  const cloud = p.options.find((o) => o.model === 'claude/haiku');
  assert.ok(cloud && cloud.confidence < p.recommended.confidence);
});

test('exhausted: hybrid (lighter now, upgrade later) when the wait is long, queue when nothing else', () => {
  const p = plan('server_error', { exhausted: true, retryAfterMs: 300_000 });
  const hybrid = p.options.find((o) => o.type === 'hybrid');
  assert.ok(hybrid);
  assert.equal(hybrid.adjustments?.upgradeTo, 'openai/gpt-4o-mini');
  assert.equal(p.recommended.type, 'hybrid');
  assert.ok(p.options.some((o) => o.type === 'queue_and_wait' && o.estimatedWaitMs === 300_000));
  const alone = planFallback({
    model: 'openai/gpt-4o-mini',
    failure: 'server_error',
    models: [gpt],
    mockGeneration: false,
    exhausted: true,
    retryAfterMs: 5000,
  });
  assert.equal(alone.recommended.type, 'queue_and_wait');
});

test('mock_generation only when enabled, labelled, never recommended over a real option', () => {
  assert.equal(
    plan('timeout').options.some((o) => o.type === 'mock_generation'),
    false,
  );
  const withMock = plan('timeout', { mockGeneration: true });
  assert.notEqual(withMock.recommended.type, 'mock_generation');
  const mock = withMock.options.find((o) => o.type === 'mock_generation');
  assert.match(mock?.message ?? '', /Mock answer/);
  assert.equal(withMock.options[withMock.options.length - 1]?.type, 'mock_generation');
  const onlyMock = planFallback({
    model: 'openai/gpt-4o-mini',
    failure: 'content_filter',
    models: [gpt],
    mockGeneration: true,
  });
  assert.equal(onlyMock.recommended.type, 'mock_generation');
});

test('timeout / server_error / stream_interrupted: alternative or queue', () => {
  for (const kind of ['timeout', 'server_error', 'stream_interrupted'] as const) {
    const p = plan(kind);
    assert.ok(
      p.options.some((o) => o.type === 'alternative_model'),
      kind,
    );
    assert.ok(
      p.options.some((o) => o.type === 'queue_and_wait'),
      kind,
    );
    assert.equal(p.options[0], p.recommended);
  }
});

test('auth: alternative with a message to set the key', () => {
  const p = plan('auth');
  assert.equal(p.recommended.type, 'alternative_model');
  assert.match(p.recommended.message, /set a valid key for provider "openai"/);
  const none = planFallback({ model: 'openai/gpt-4o-mini', failure: 'auth', models: [gpt], mockGeneration: false });
  assert.match(none.recommended.message, /Set API Key/);
});

test('context_overflow: only models with a larger context', () => {
  const p = plan('context_overflow', { model: 'local/qwen-1.5b' });
  assert.ok(
    p.options.every((o) => o.type !== 'alternative_model' || o.model === 'openai/gpt-4o-mini'),
    JSON.stringify(p.options),
  );
  assert.equal(p.recommended.model, 'openai/gpt-4o-mini');
  assert.match(p.recommended.message, /longer than local\/qwen-1\.5b's context/);
});

test('content_filter / bad_request: explained, alternatives at lower confidence', () => {
  const normal = plan('timeout').options.find((o) => o.model === 'local/qwen-1.5b');
  for (const kind of ['content_filter', 'bad_request'] as const) {
    const p = plan(kind, { message: 'flagged' });
    const alt = p.options.find((o) => o.model === 'local/qwen-1.5b');
    assert.ok(alt && normal && alt.confidence < normal.confidence, kind);
    assert.match(alt?.message ?? '', /\(flagged\); rephrasing may help/);
  }
});

test('every option carries confidence in 0..1 and the recommended one comes first', () => {
  for (const kind of ['model_missing', 'out_of_memory', 'rate_limited', 'network', 'timeout', 'auth'] as const) {
    const p = plan(kind);
    assert.equal(p.options[0], p.recommended);
    for (const o of p.options)
      assert.ok(o.confidence >= 0 && o.confidence <= 1 && o.message.length > 10, `${kind} ${JSON.stringify(o)}`);
  }
});
