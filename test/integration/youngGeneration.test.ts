// The young-generation cap (server/app/youngGeneration.ts) in a real V8: the same allocation burst (many
// short-lived objects, some surviving a few collections, as requests in flight do) run in a fresh node
// process with and without the cap. Without it V8 grows the semi-spaces to their 16 MiB maximum; with
// it the young generation stays at the cap (one doubling past it at most: the check runs just after a
// collection). A second burst after the space shrank back must be able to grow it to the cap again.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { YOUNG_GENERATION_CAP_BYTES } from '../../server/app/youngGeneration';

const ROOT = path.resolve(__dirname, '..', '..');

/** Runs the burst in a child process and returns the largest new-space size it saw, bytes. */
function burst(cap: boolean, extraArgs: string[] = []): number {
  const script = `
    const v8 = require('node:v8');
    ${cap ? "require('./server/app/youngGeneration').capYoungGeneration();" : ''}
    const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    let max = newSpace();
    (async () => {
      let keep = [];
      for (let i = 0; i < 300000; i++) {
        keep.push(Promise.resolve({ i, s: 'x' + i, a: [i, i] }));
        if (keep.length > 5000) keep = keep.slice(2500);
        if (i % 1000 === 0) { await new Promise((r) => setImmediate(r)); max = Math.max(max, newSpace()); }
        await null;
      }
      process.stdout.write(String(max));
    })();`;
  const r = spawnSync(process.execPath, [...extraArgs, '--import', 'tsx', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout);
}

describe('young-generation cap', () => {
  it('holds the young generation at the cap where V8 alone grows it to its maximum', () => {
    const free = burst(false);
    const capped = burst(true);
    const MiB = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
    assert.ok(free > 2 * YOUNG_GENERATION_CAP_BYTES, `without the cap V8 grew to ${MiB(free)} only: no test`);
    assert.ok(capped <= 2 * YOUNG_GENERATION_CAP_BYTES, `capped, the young generation reached ${MiB(capped)}`);
    assert.ok(capped >= YOUNG_GENERATION_CAP_BYTES / 2, `capped too early: ${MiB(capped)}`);
  });

  it('leaves a young generation sized by the user alone', () => {
    const sized = burst(true, ['--max-semi-space-size=16']);
    assert.ok(sized > 2 * YOUNG_GENERATION_CAP_BYTES, `the user's size was capped: ${sized}`);
  });
});
