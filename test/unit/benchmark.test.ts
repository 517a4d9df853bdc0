// benchmarkModel's arithmetic and BenchmarkStore, with a scripted provider on a hand-driven clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchmarkModel, benchPrompt, sampleSd, BenchmarkStore } from '../../server/benchmark/benchmark';
import {
  ProviderError,
  type GenerateOptions,
  type GenerateRequest,
  type GenerateResult,
  type Provider,
  type Store,
} from '../../server/core/types';
import type { BenchmarkResult } from '../../protocol/types';

/** Each call: TTFT `ttft[i]` ms, then `tokens - 1` more deltas `tokenMs[i]` apart. Time moves only here. */
function scripted(ttft: number[], tokenMs: number[], tokens: number, promptTokens = 100) {
  let t = 0;
  let call = 0;
  const requests: GenerateRequest[] = [];
  const provider: Provider = {
    id: 'p',
    type: 'openai-compatible',
    kind: 'cloud',
    async generate(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult> {
      requests.push(req);
      if (req.maxTokens === 1)
        return { text: 'w', usage: { promptTokens: 1, completionTokens: 1 }, finishReason: 'length' };
      const i = call++;
      t += ttft[i] ?? 0;
      opts.onDelta?.('x');
      for (let k = 1; k < tokens; k++) {
        t += tokenMs[i] ?? 0;
        opts.onDelta?.('x');
      }
      return { text: 'x'.repeat(tokens), usage: { promptTokens, completionTokens: tokens }, finishReason: 'length' };
    },
  };
  return { provider, now: () => t, requests };
}

const signal = new AbortController().signal;

test('tokens/s is (n − 1) over the time after the first token; pp is prompt tokens over TTFT; sd is the sample sd', async () => {
  const s = scripted([100, 200, 300], [10, 20, 40], 11);
  const progress: string[] = [];
  const r = await benchmarkModel(
    { id: 'p/m', provider: s.provider, name: 'm', kind: 'cloud' },
    { signal, now: s.now, maxTokens: 11, onProgress: (d, n) => progress.push(`${d}/${n}`) },
  );
  assert.equal(r.ok, true);
  assert.equal(r.repetitions, 3);
  assert.equal(r.ttftMs, 200);
  assert.equal(r.ttftSdMs, 100);
  // 10 tokens in 100 / 200 / 400 ms → 100, 50, 25 tokens/s
  assert.equal(r.tokensPerSecond, round((100 + 50 + 25) / 3));
  assert.equal(r.tokensPerSecondSd, round(sampleSd([100, 50, 25]) ?? NaN));
  // 100 prompt tokens over 100 / 200 / 300 ms
  assert.equal(r.promptTokensPerSecond, round((1000 + 500 + 1000 / 3) / 3));
  assert.equal(r.totalMs, 100 + 100 + 200 + 200 + 300 + 400);
  assert.equal(r.peakRssBytes, undefined);
  assert.deepEqual(progress, ['0/3', '1/3', '2/3', '3/3']);
  // A warm-up call of one token, then three runs at temperature 0 with distinct prompts.
  assert.equal(s.requests.length, 4);
  assert.equal(s.requests[0]?.maxTokens, 1);
  const prompts = s.requests.slice(1).map((q) => q.prompt);
  assert.equal(new Set(prompts).size, 3);
  assert.ok(s.requests.every((q) => q.temperature === 0 && q.model === 'm'));
});

test('the prompt is about promptTokens × 4 characters, capped by the context', async () => {
  assert.equal(benchPrompt(512, 1).length, 2048);
  assert.ok(benchPrompt(512, 2).startsWith('Run 2. '));
  const s = scripted([10], [1], 4);
  await benchmarkModel(
    { id: 'p/m', provider: s.provider, name: 'm', kind: 'local', contextLength: 256 },
    { signal, now: s.now, repetitions: 1, maxTokens: 64, promptTokens: 4096, warmup: false },
  );
  assert.equal(s.requests[0]?.prompt?.length, (256 - 64 - 16) * 4);
});

test('peak RSS is the largest value seen', async () => {
  const values = [100, 300, 200];
  let i = 0;
  const s = scripted([10, 10, 10], [1, 1, 1], 3);
  const r = await benchmarkModel(
    { id: 'p/m', provider: s.provider, name: 'm', kind: 'local', rssOf: () => values[i++ % 3] },
    { signal, now: s.now },
  );
  assert.equal(r.peakRssBytes, 300);
});

test("the model's own memory (memoryOf) is reported, never the process's RSS peak beside it", async () => {
  const s = scripted([10, 10, 10], [1, 1, 1], 3);
  const own = [undefined, 40, 50, 50];
  let i = 0;
  const r = await benchmarkModel(
    {
      id: 'p/m',
      provider: s.provider,
      name: 'm',
      kind: 'local',
      memoryOf: () => own[Math.min(i++, own.length - 1)],
      rssOf: () => 900,
    },
    { signal, now: s.now },
  );
  assert.equal(r.peakRssBytes, 50);
});

test('failures are ok:false with the kind; too few tokens is a failure; one run has no sd', async () => {
  const failing: Provider = {
    id: 'p',
    type: 'anthropic',
    kind: 'cloud',
    generate: () => Promise.reject(new ProviderError('auth', 'invalid x-api-key (401)')),
  };
  const r = await benchmarkModel({ id: 'p/m', provider: failing, name: 'm', kind: 'cloud' }, { signal });
  assert.deepEqual(
    { ok: r.ok, error: r.error, model: r.model },
    { ok: false, error: 'auth: invalid x-api-key (401)', model: 'p/m' },
  );

  const one = scripted([10], [0], 1);
  const r1 = await benchmarkModel(
    { id: 'p/m', provider: one.provider, name: 'm', kind: 'cloud' },
    { signal, now: one.now, repetitions: 1 },
  );
  assert.equal(r1.ok, false);
  assert.match(r1.error ?? '', /produced 1 token/);

  const single = scripted([10], [5], 5);
  const r2 = await benchmarkModel(
    { id: 'p/m', provider: single.provider, name: 'm', kind: 'cloud' },
    { signal, now: single.now, repetitions: 1 },
  );
  assert.equal(r2.ok, true);
  assert.equal(r2.tokensPerSecond, 200);
  assert.equal(r2.ttftSdMs, undefined);
  assert.equal(r2.tokensPerSecondSd, undefined);
});

test('an abort rejects at once with the reason, even if the provider ignores the signal', async () => {
  const hanging: Provider = { id: 'p', type: 'ollama', kind: 'cloud', generate: () => new Promise(() => {}) };
  const ac = new AbortController();
  const run = benchmarkModel({ id: 'p/m', provider: hanging, name: 'm', kind: 'cloud' }, { signal: ac.signal });
  const reason = new Error('stop');
  ac.abort(reason);
  await assert.rejects(run, (e) => e === reason);
  // Already aborted: rejects before calling the provider.
  let called = false;
  const spy: Provider = {
    id: 'p',
    type: 'ollama',
    kind: 'cloud',
    generate: () => ((called = true), new Promise(() => {})),
  };
  await assert.rejects(
    benchmarkModel({ id: 'p/m', provider: spy, name: 'm', kind: 'cloud' }, { signal: ac.signal }),
    (e) => e === reason,
  );
  assert.equal(called, false);
});

test('BenchmarkStore persists by model and ignores malformed saved entries', () => {
  const data = new Map<string, unknown>();
  const store: Store = {
    read: <T>(k: string) => data.get(k) as T | undefined,
    write: (k, v) => void data.set(k, structuredClone(v)),
  };
  data.set('benchmarks', { 'a/x': { model: 'a/x', ok: true, at: 't' }, junk: 42, 'b/y': { ok: 'yes' } });
  const s = new BenchmarkStore(store);
  assert.deepEqual(Object.keys(s.all()), ['a/x']);
  const r: BenchmarkResult = { model: 'c/z', ok: true, tokensPerSecond: 12, at: '2026-01-01T00:00:00.000Z' };
  s.set(r);
  assert.deepEqual(s.get('c/z'), r);
  assert.deepEqual(new BenchmarkStore(store).get('c/z'), r);
  assert.equal(s.get('nope'), undefined);
});

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
