// benchmarkModel against a real node-llama-cpp model (generated 4-layer, 256-dim, f16).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchmarkModel, type BenchTarget } from '../../server/benchmark/benchmark';
import { disposeSharedLlama } from '../../server/llama';
import { LlamaTestProvider } from '../helpers/llamaTestProvider';
import { writeGguf } from '../helpers/tmpGenGguf';

// One thread, deliberately: on a busy 2-core machine llama.cpp's 2 threads spin-wait on each other and
// generation drops from ~900 to 5–30 tokens/s (measured while other test suites ran).
const TEST_THREADS = 1;
let dir: string;
let provider: LlamaTestProvider;
let target: BenchTarget;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-bench-'));
  const model = path.join(dir, 'small-l4.gguf');
  writeGguf(model, { embd: 256, layers: 4, heads: 4, ff: 512, ctx: 4096, dtype: 'f16' });
  provider = new LlamaTestProvider({ models: { 'small-l4': model }, threads: TEST_THREADS, contextSize: 1024 });
  target = { id: 'local/small-l4', provider, name: 'small-l4', kind: 'local', rssOf: () => process.memoryUsage().rss, contextLength: 1024 };
});

after(async () => {
  await provider.dispose();
  await disposeSharedLlama();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('measures TTFT, prompt and generation speed, peak RSS, with a spread over 3 repetitions', async () => {
  const progress: [number, number][] = [];
  const r = await benchmarkModel(target, { promptTokens: 32, maxTokens: 24, signal: new AbortController().signal, onProgress: (d, t) => progress.push([d, t]) });
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
  assert.deepEqual(progress, [[0, 3], [1, 3], [2, 3], [3, 3]]);
});

test('the context length caps the prompt so prompt + answer fit', async () => {
  // ctx 1024 with maxTokens 900: at most ~108 prompt tokens are asked for, whatever promptTokens says.
  const r = await benchmarkModel({ ...target, contextLength: 1024 }, { repetitions: 1, promptTokens: 4096, maxTokens: 8, signal: new AbortController().signal, warmup: false });
  assert.equal(r.ok, true, r.error);
});

test('aborting stops the benchmark promptly with the signal reason', async () => {
  const ac = new AbortController();
  const progress: number[] = [];
  const reason = new Error('user cancelled the benchmark');
  const run = benchmarkModel(target, { repetitions: 5, promptTokens: 32, maxTokens: 700, signal: ac.signal, onProgress: (d) => progress.push(d) });
  await new Promise((r) => setTimeout(r, 300));
  const abortedAt = performance.now();
  ac.abort(reason);
  await assert.rejects(run, (e) => e === reason);
  const latencyMs = performance.now() - abortedAt;
  console.log(`benchmark abort latency: ${latencyMs.toFixed(1)} ms`);
  assert.ok(latencyMs < 100, `rejected ${latencyMs} ms after abort`);
  assert.ok(!progress.includes(5));
});

test('a model that cannot be reached is ok:false with the reason, not an exception', async () => {
  const r = await benchmarkModel({ ...target, id: 'local/nope', name: 'nope' }, { repetitions: 2, maxTokens: 4, signal: new AbortController().signal });
  assert.equal(r.ok, false);
  assert.match(r.error ?? '', /model_missing: no test model named nope/);
  assert.equal(r.tokensPerSecond, undefined);
});
