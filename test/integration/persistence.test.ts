// Health, statistics and benchmarks survive a daemon restart (atomic state files in the state dir).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { methods } from '../../protocol/index';
import type { HealthReport, Stats } from '../../protocol/types';
import { FAULT_MODELS, startFaultServer, type FaultServer } from '../fixtures/faultServer';
import { spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

let fault: FaultServer;
before(async () => {
  fault = await startFaultServer();
});
after(async () => fault.close());

it('an open circuit and the request counters are still there after a restart', async () => {
  const dir = tmpDir();
  const state = path.join(dir, 'state');
  const bad = `fault/${FAULT_MODELS.error503Always}+persist`;
  const cfg = writeConfig(dir, {
    providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1` }],
    chain: [bad, 'fault/ok+persist'],
    maxRetries: 0,
    circuit: { failureThreshold: 2, cooldownMs: 600_000 },
  });
  const first = spawnStdio(['--config', cfg, '--state-dir', state]);
  try {
    for (let i = 0; i < 3; i++) await first.conn.sendRequest(methods.complete.method, { prompt: 'x' });
    const h = await first.conn.sendRequest<HealthReport>(methods.health.method);
    assert.equal(h.perModel[bad]?.state, 'open');
  } finally {
    first.child.kill('SIGTERM');
    await first.exited;
  }
  assert.ok(fs.readdirSync(state).includes('health.json'));
  assert.ok(!fs.readdirSync(state).some((f) => f.endsWith('.tmp')), 'no half-written state files');
  const before = fault.attemptsFor(`${FAULT_MODELS.error503Always}+persist`).length;
  const second = spawnStdio(['--config', cfg, '--state-dir', state]);
  try {
    const h = await second.conn.sendRequest<HealthReport>(methods.health.method);
    assert.equal(h.perModel[bad]?.state, 'open', JSON.stringify(h.perModel[bad]));
    assert.ok((h.perModel[bad]?.failureCount ?? 0) >= 2);
    const s = await second.conn.sendRequest<Stats>(methods.stats.method);
    assert.equal(s.totalRequests, 3);
    assert.equal(s.fallbackRequests, 3);
    // the restarted daemon still skips the open circuit: no new call to the failing model
    await second.conn.sendRequest(methods.complete.method, { prompt: 'x' });
    assert.equal(fault.attemptsFor(`${FAULT_MODELS.error503Always}+persist`).length, before);
  } finally {
    await second.kill();
  }
});
