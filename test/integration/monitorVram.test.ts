// monitorVram through the daemon (issue 18): with it on, a chain local model that needs more than the
// memory available to it (here capped by memoryBudgetBytes; this machine has no GPU) makes one warning
// in the log and the top recommendation of backstop/health; with it off, neither.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { methods } from '../../protocol/index';
import type { HealthReport, ModelInfo } from '../../protocol/types';
import { writeGguf } from '../fixtures/genGguf';
import { spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

const NO_SCAN = { lmStudio: false, huggingFace: false, nodeLlamaCpp: false, llamaCpp: false };

async function withDaemon(
  monitorVram: boolean,
  fn: (d: ReturnType<typeof spawnStdio>) => Promise<void>,
): Promise<void> {
  const dir = tmpDir('backstop-monitorvram-');
  const models = path.join(dir, 'models');
  fs.mkdirSync(models, { recursive: true });
  writeGguf(path.join(models, 'tiny.gguf'), { seed: 4 });
  const cfg = writeConfig(dir, {
    providers: [
      { id: 'local', type: 'local', modelsDirs: [models], scan: NO_SCAN, threads: 1, memoryBudgetBytes: 1024 },
    ],
    chain: ['local/tiny'],
    monitorVram,
  });
  const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')], { BACKSTOP_LOG_LEVEL: 'info' });
  try {
    // The fit estimate is computed in the background after the scan.
    for (let i = 0; i < 100; i++) {
      const { models: list } = await d.conn.sendRequest<{ models: ModelInfo[] }>(methods.models.method, {});
      if (list.find((m) => m.id === 'local/tiny')?.fit) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await fn(d);
  } finally {
    await d.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('monitorVram on: memory short of what the chain needs is a warning and the top recommendation', async () => {
  await withDaemon(true, async (d) => {
    const h = await d.conn.sendRequest<HealthReport>(methods.health.method);
    assert.match(h.recommendations[0] ?? '', /^Memory is low: .*within memoryBudgetBytes, but local\/tiny needs/);
    await d.conn.sendRequest<HealthReport>(methods.health.method);
    assert.equal(d.stderr().match(/Memory is low/g)?.length, 1, 'one warning, not one per sample');
  });
});

test('monitorVram off: no memory warning', async () => {
  await withDaemon(false, async (d) => {
    const h = await d.conn.sendRequest<HealthReport>(methods.health.method);
    assert.ok(!h.recommendations.some((r) => /Memory is low/.test(r)), JSON.stringify(h.recommendations));
    assert.doesNotMatch(d.stderr(), /Memory is low/);
  });
});
