// A request that has to wait in the daemon's queue says so in the CLI: how many are ahead and about
// how long, in human time.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FIXED_ANSWER, startFaultServer, type FaultServer } from '../fixtures/faultServer';
import { CLI, spawnCli, tmpDir, waitForDaemonFile, writeConfig, type Spawned } from '../helpers/daemon';

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('backstop complete while the queue is busy', () => {
  let fault: FaultServer;
  let state: string;
  let daemon: Spawned;
  before(async () => {
    // ~60 chunks × 40 ms: each answer holds the model's single slot for about 2.4 s.
    fault = await startFaultServer({ chunkDelayMs: 40 });
    const dir = tmpDir();
    state = path.join(dir, 'state');
    const cfg = writeConfig(dir, {
      providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1`, maxConcurrency: 1 }],
      chain: ['fault/ok+q'],
    });
    daemon = spawnCli(['serve', '--ws', '0', '--config', cfg, '--state-dir', state]);
    await waitForDaemonFile(state, daemon);
  });
  after(async () => {
    await daemon.kill();
    await fault.close();
  });

  it('the second request prints that it is queued, with an estimate in human time', async () => {
    const first = cli(['complete', 'one', '--state-dir', state]);
    // The first request holds the slot once the upstream has it.
    for (let i = 0; i < 100 && fault.attemptsFor('ok+q').length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const second = await cli(['complete', 'two', '--state-dir', state]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /⏳ queued( behind \d+ requests?)?: (about \d+ (s|min)|any moment now)/, second.stderr);
    const line = second.stderr.split('\n').find((l) => l.startsWith('⏳')) ?? '';
    assert.doesNotMatch(line, /ms\b/, 'human time, not milliseconds');
    assert.equal(second.stdout.trim(), FIXED_ANSWER);
    const r1 = await first;
    assert.equal(r1.code, 0, r1.stderr);
    assert.doesNotMatch(r1.stderr, /queued/, 'the first request did not wait');
  });
});
