// Fit estimates from node-llama-cpp's GgufInsights on generated models, and how far the RAM
// estimate is from what a real load costs (a measurement for the README, not a tight assertion).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { estimateFit, estimateResources, resolveContextSize, DEFAULT_HEADROOM_BYTES } from '../../server/system/fit';
import { disposeSharedLlama } from '../../server/native/llama';
import { writeGguf, writeBrokenGguf, ensureFixtureModel, FIXTURE_MODELS } from '../fixtures/genGguf';

const GB = 1024 ** 3;
const REPO = path.resolve(import.meta.dirname, '..', '..');
let dir: string;
let tiny: string;
let l4: string;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-fit-'));
  tiny = path.join(dir, 'tiny.gguf');
  l4 = path.join(dir, 'l4.gguf');
  writeGguf(tiny, { ctx: 2048 });
  writeGguf(l4, { embd: 256, layers: 4, heads: 4, ff: 512, ctx: 4096, f16: true });
});

after(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await disposeSharedLlama();
});

test('estimates are positive and grow with the context', async () => {
  for (const model of [tiny, l4]) {
    const small = await estimateResources(model, { contextSize: 512, gpuLayers: 0 });
    const big = await estimateResources(model, { contextSize: 2048, gpuLayers: 0 });
    assert.ok(
      small.ramBytes > fs.statSync(model).size * 0.9,
      `${model}: the weights alone are in RAM (${small.ramBytes})`,
    );
    assert.ok(
      big.ramBytes > small.ramBytes,
      `${model}: ctx 2048 (${big.ramBytes}) should need more than ctx 512 (${small.ramBytes})`,
    );
    assert.equal(small.vramBytes, 0);
  }
});

test('estimateFit: no GPU means 0 layers; fits compares RAM plus headroom with what is free', async () => {
  const fit = await estimateFit(l4, { contextSize: 2048, freeRamBytes: 8 * GB, gpu: false });
  assert.equal(fit.gpuLayers, 0);
  assert.equal(fit.estimatedVramBytes, 0);
  assert.equal(fit.contextSize, 2048);
  assert.equal(fit.fits, true);
  const exact = fit.estimatedRamBytes + DEFAULT_HEADROOM_BYTES;
  assert.equal((await estimateFit(l4, { contextSize: 2048, freeRamBytes: exact, gpu: false })).fits, true);
  assert.equal((await estimateFit(l4, { contextSize: 2048, freeRamBytes: exact - 1, gpu: false })).fits, false);
  assert.equal(
    (await estimateFit(l4, { contextSize: 2048, freeRamBytes: exact - 1, gpu: false, headroomBytes: 0 })).fits,
    true,
  );
  // A GPU asked for but no free VRAM known: still CPU only.
  assert.equal((await estimateFit(l4, { contextSize: 2048, freeRamBytes: 8 * GB, gpu: true })).gpuLayers, 0);
});

test('estimateFit offloads as many layers as the free VRAM allows', async () => {
  const all = await estimateFit(l4, { contextSize: 1024, freeRamBytes: 8 * GB, freeVramBytes: 8 * GB, gpu: true });
  assert.equal(all.gpuLayers, 5, 'four blocks and the output layer');
  assert.ok(all.estimatedVramBytes > 0);
  // Just enough for two layers: the estimate must pick exactly the largest count under budget.
  const two = await estimateResources(l4, { contextSize: 1024, gpuLayers: 2 });
  const three = await estimateResources(l4, { contextSize: 1024, gpuLayers: 3 });
  assert.ok(three.vramBytes > two.vramBytes);
  const partial = await estimateFit(l4, {
    contextSize: 1024,
    freeRamBytes: 8 * GB,
    freeVramBytes: two.vramBytes + 1000,
    gpu: true,
    headroomBytes: 1000,
  });
  assert.equal(partial.gpuLayers, 2);
  assert.equal(partial.estimatedVramBytes, two.vramBytes);
  // Offloaded layers leave RAM: partial offload sits between CPU-only and full offload.
  const cpuOnly = await estimateResources(l4, { contextSize: 1024, gpuLayers: 0 });
  assert.ok(partial.estimatedRamBytes < cpuOnly.ramBytes && partial.estimatedRamBytes > all.estimatedRamBytes);
});

test('default context: the trained context capped at 4096; unreadable files reject', async () => {
  assert.equal((await estimateFit(tiny, { freeRamBytes: 8 * GB, gpu: false })).contextSize, 2048);
  assert.equal(resolveContextSize(undefined, 131072), 4096);
  assert.equal(resolveContextSize(8192, 131072), 8192);
  const broken = path.join(dir, 'broken.gguf');
  writeBrokenGguf(broken);
  await assert.rejects(estimateFit(broken, { freeRamBytes: 8 * GB, gpu: false }), /GGUF magic/);
  await assert.rejects(estimateResources(path.join(dir, 'missing.gguf'), { contextSize: 512, gpuLayers: 0 }), {
    code: 'ENOENT',
  });
  await assert.rejects(estimateResources(tiny, { contextSize: 0, gpuLayers: 0 }), RangeError);
});

test(
  'RAM estimate vs measured RSS on the benchmark-size model (1024-dim, 8 layers, f16)',
  { timeout: 120_000 },
  async () => {
    // <repo>/.cache/models/bench.gguf: 1024-dim, 8 layers, f16 (~207 MB), written once and reused.
    const BENCH_MODEL = await ensureFixtureModel('bench');
    const contextSize = FIXTURE_MODELS.bench.ctx;
    const fit = await estimateFit(BENCH_MODEL, { contextSize, freeRamBytes: 64 * GB, gpu: false });
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(REPO, 'test', 'helpers', 'measureLoadRss.ts'),
        BENCH_MODEL,
        String(contextSize),
        '2',
      ],
      {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 90_000,
      },
    );
    const m = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
      baselineRss: number;
      loadedRss: number;
      afterEvalRss: number;
      peakRss?: number;
    };
    const measured = m.afterEvalRss - m.baselineRss;
    const error = (fit.estimatedRamBytes - measured) / measured;
    const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
    console.log(
      `RAM estimate on ${path.basename(BENCH_MODEL)} (${mb(fs.statSync(BENCH_MODEL).size)}) at ctx ${contextSize}: ` +
        `estimated ${mb(fit.estimatedRamBytes)}, measured RSS delta ${mb(measured)} (after load ${mb(m.loadedRss - m.baselineRss)}), ` +
        `relative error ${(error * 100).toFixed(1)}%`,
    );
    assert.ok(fit.estimatedRamBytes > 0);
    assert.ok(measured > 0);
    assert.ok(Number.isFinite(error));
  },
);
