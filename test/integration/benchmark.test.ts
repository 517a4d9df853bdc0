// benchmarkModel against a real node-llama-cpp model (the generated 4-layer, 256-dim fixture).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { benchmarkModel, type BenchTarget } from '../../server/benchmark/benchmark';
import { disposeSharedLlama } from '../../server/native/llama';
import { LlamaTestProvider } from '../helpers/llamaTestProvider';
import { ensureFixtureModel, FIXTURE_MODELS } from '../fixtures/genGguf';

// One thread, deliberately: on a busy 2-core machine llama.cpp's 2 threads spin-wait on each other and
// generation drops from ~900 to 5–30 tokens/s (measured while other test suites ran).
const TEST_THREADS = 1;
let provider: LlamaTestProvider;
let target: BenchTarget;

before(async () => {
  // The 4-layer, 256-dim fixture from <repo>/.cache/models (written once, shared by the suites).
  const model = await ensureFixtureModel('fourLayer');
  assert.equal(FIXTURE_MODELS.fourLayer.layers, 4);
  provider = new LlamaTestProvider({ models: { 'small-l4': model }, threads: TEST_THREADS, contextSize: 1024 });
  target = {
    id: 'local/small-l4',
    provider,
    name: 'small-l4',
    kind: 'local',
    rssOf: () => process.memoryUsage().rss,
    contextLength: 1024,
  };
});

after(async () => {
  await provider.dispose();
  await disposeSharedLlama();
});

test('measures TTFT, prompt and generation speed, peak RSS, with a spread over 3 repetitions', async () => {
  const progress: [number, number][] = [];
  const r = await benchmarkModel(target, {
    promptTokens: 32,
    maxTokens: 24,
    signal: new AbortController().signal,
    onProgress: (d, t) => progress.push([d, t]),
  });
  console.log(`benchmark small-l4: ${JSON.stringify(r)}`);
  assert.equal(r.ok, true, r.error);
  assert.equal(r.model, 'local/small-l4');
  assert.equal(r.repetitions, 3);
  assert.ok((r.tokensPerSecond ?? 0) > 0);
  assert.ok((r.ttftMs ?? 0) > 0);
  assert.ok((r.promptTokensPerSecond ?? 0) > 0);
  assert.ok(r.tokensPerSecondSd !== undefined && r.tokensPerSecondSd >= 0);
  assert.ok(r.ttftSdMs !== undefined && r.ttftSdMs >= 0);
  assert.ok(r.promptTokensPerSecondSd !== undefined);
  assert.ok((r.totalMs ?? 0) >= (r.ttftMs ?? 0) * 3);
  assert.ok((r.peakRssBytes ?? 0) > 0);
  assert.ok(Date.parse(r.at) <= Date.now());
  assert.deepEqual(progress, [
    [0, 3],
    [1, 3],
    [2, 3],
    [3, 3],
  ]);
});

test('the context length caps the prompt so prompt + answer fit', async () => {
  // ctx 1024 with maxTokens 900: at most ~108 prompt tokens are asked for, whatever promptTokens says.
  const r = await benchmarkModel(
    { ...target, contextLength: 1024 },
    { repetitions: 1, promptTokens: 4096, maxTokens: 8, signal: new AbortController().signal, warmup: false },
  );
  assert.equal(r.ok, true, r.error);
});

test('aborting stops the benchmark promptly with the signal reason', async () => {
  const ac = new AbortController();
  const progress: number[] = [];
  const reason = new Error('user cancelled the benchmark');
  const run = benchmarkModel(target, {
    repetitions: 5,
    promptTokens: 32,
    maxTokens: 700,
    signal: ac.signal,
    onProgress: (d) => progress.push(d),
  });
  await new Promise((r) => setTimeout(r, 300));
  const abortedAt = performance.now();
  ac.abort(reason);
  await assert.rejects(run, (e) => e === reason);
  const latencyMs = performance.now() - abortedAt;
  console.log(`benchmark abort latency: ${latencyMs.toFixed(1)} ms`);
  assert.ok(latencyMs < 100, `rejected ${latencyMs} ms after abort`);
  // And llama.cpp itself stops producing tokens, not just our promise.
  await provider.idle();
  const stoppedMs = performance.now() - abortedAt;
  console.log(`llama.cpp generation stopped ${stoppedMs.toFixed(1)} ms after abort`);
  assert.ok(stoppedMs < 500, `generation kept running ${stoppedMs} ms after abort`);
  assert.ok(!progress.includes(5));
});

test('a model that cannot be reached is ok:false with the reason, not an exception', async () => {
  const r = await benchmarkModel(
    { ...target, id: 'local/nope', name: 'nope' },
    { repetitions: 2, maxTokens: 4, signal: new AbortController().signal },
  );
  assert.equal(r.ok, false);
  assert.match(r.error ?? '', /model_missing: no test model named nope/);
  assert.equal(r.tokensPerSecond, undefined);
});
