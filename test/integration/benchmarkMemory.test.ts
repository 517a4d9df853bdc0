// The benchmark's memory figure is the model's own footprint (node-llama-cpp's size of its weights plus
// its context state), not the local worker's lifetime peak (issue 15, finding 9): a 0.5 MB model
// benchmarked after a 200 MB one used to report the larger one's memory. Through the BUILT daemon.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { methods } from '../../protocol/index';
import type { BenchmarkResult } from '../../protocol/types';
import { ensureFixtureModel } from '../fixtures/genGguf';
import { spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

const NO_SCAN = { lmStudio: false, huggingFace: false, nodeLlamaCpp: false, llamaCpp: false };
const MiB = 1024 * 1024;

let d: ReturnType<typeof spawnStdio>;
const sizes: Record<string, number> = {};

before(async () => {
  const dir = tmpDir('backstop-benchmem-');
  const modelsDir = path.join(dir, 'models');
  fs.mkdirSync(modelsDir);
  for (const name of ['bench', 'fourLayer', 'tiny'] as const) {
    const file = path.join(modelsDir, `${name}.gguf`);
    fs.symlinkSync(await ensureFixtureModel(name), file);
    sizes[name] = fs.statSync(file).size;
  }
  const cfg = writeConfig(dir, {
    providers: [{ id: 'local', type: 'local', modelsDirs: [modelsDir], scan: NO_SCAN, threads: 1, contextSize: 1024 }],
    chain: ['local/tiny'],
  });
  d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
  await d.conn.sendRequest(methods.models.method, { refresh: true });
});

after(async () => {
  if (process.env.DEBUG_DAEMON) console.error(d.stderr());
  await d.kill();
});

async function bench(model: string): Promise<BenchmarkResult> {
  const { results } = await d.conn.sendRequest<{ results: BenchmarkResult[] }>(methods.benchmark.method, {
    models: [model],
    repetitions: 2,
    maxTokens: 8,
    promptTokens: 16,
  });
  const r = results[0];
  assert.ok(r?.ok, JSON.stringify(r));
  return r;
}

describe('benchmark memory per model', () => {
  it('the 200 MB model, then the 11 MB and 0.5 MB ones: each reports its own footprint', async () => {
    const big = await bench('local/bench');
    const mid = await bench('local/fourLayer');
    const tiny = await bench('local/tiny');
    const fmt = (r: BenchmarkResult) =>
      `${r.model}: ${((r.peakRssBytes ?? 0) / MiB).toFixed(1)} MiB, tg ${r.tokensPerSecond} tok/s, TTFT ${r.ttftMs} ms`;
    console.log(`benchmark memory: ${[big, mid, tiny].map(fmt).join('; ')}`);
    console.log(
      `file sizes: ${Object.entries(sizes)
        .map(([k, v]) => `${k} ${(v / MiB).toFixed(1)} MiB`)
        .join(', ')}`,
    );
    const bigBytes = big.peakRssBytes ?? 0;
    const midBytes = mid.peakRssBytes ?? 0;
    const tinyBytes = tiny.peakRssBytes ?? 0;
    assert.ok(bigBytes >= (sizes.bench ?? 0) * 0.9, `bench ${bigBytes} vs file ${sizes.bench}`);
    assert.ok(bigBytes < (sizes.bench ?? 0) * 1.5, `bench ${bigBytes} vs file ${sizes.bench}`);
    assert.ok(midBytes > 0 && midBytes < 64 * MiB, `fourLayer ${midBytes}`);
    assert.ok(tinyBytes > 0 && tinyBytes < 16 * MiB, `tiny ${tinyBytes} (the worker holds ${bigBytes} for bench)`);
    assert.ok(tinyBytes < midBytes && midBytes < bigBytes);
  });
});
