// The young-generation cap (server/app/youngGeneration.ts) in a real V8: the same allocation burst (many
// short-lived objects, some surviving a few collections, as requests in flight do) run in a fresh node
// process with and without the cap. Without it V8 grows the semi-spaces to their 16 MiB maximum; with
// it the young generation stays at the cap (one doubling past it at most: the check runs just after a
// collection). A second burst after the space shrank back must be able to grow it to the cap again.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
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

describe('young-generation cap and the code cache', () => {
  it('a daemon that capped its young generation leaves a code cache the next start accepts', async () => {
    // dist/cli.js keeps its cache beside the bundle: a copy of both in a folder of their own.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-cache-'));
    try {
      for (const f of ['cli.js', 'daemon.js']) fs.copyFileSync(path.join(ROOT, 'dist', f), path.join(dir, f));
      const cache = path.join(dir, '.cache', 'daemon.v8cache');
      // A cap of 0.25 MiB: the young generation is past it at once, so the flag changes at startup.
      const daemon = spawn(
        process.execPath,
        [path.join(dir, 'cli.js'), 'serve', '--stdio', '--state-dir', path.join(dir, 'state')],
        {
          env: { ...process.env, NODE_OPTIONS: '', BACKSTOP_YOUNG_GENERATION_MIB: '0.25' },
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      await new Promise((r) => setTimeout(r, 1500));
      daemon.stdin.end(); // stdio closed: the daemon exits, and writes the cache it had to make
      const code = await new Promise<number | null>((r) => daemon.once('exit', r));
      assert.equal(code, 0);
      const written = fs.statSync(cache);
      // The next start: a rejected cache would be made again and rewritten at exit.
      const r = spawnSync(process.execPath, [path.join(dir, 'cli.js'), '--version'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const after = fs.statSync(cache);
      assert.equal(after.mtimeMs, written.mtimeMs, 'the next start rejected the cache and wrote it again');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
