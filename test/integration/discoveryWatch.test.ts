// The watcher reports a model file copied in or removed within 2 s, and ignores other files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelWatcher } from '../../server/discovery/watcher';
import { writeGguf } from '../fixtures/genGguf';

const DEADLINE_MS = 2000;
let root: string;
let source: string;

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-watch-'));
  source = path.join(root, 'source.gguf');
  writeGguf(source);
});

after(() => fs.rmSync(root, { recursive: true, force: true }));

/** Resolves with the ms until the next onChange, or rejects after `ms`. */
function nextChange(events: { waiters: ((t: number) => void)[] }, ms: number): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no change reported within ${ms} ms`)), ms);
    events.waiters.push(() => {
      clearTimeout(timer);
      resolve(performance.now() - start);
    });
  });
}

async function settle(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

for (const mode of ['fs.watch', 'poll only'] as const) {
  test(`${mode}: a model copied into a subfolder or removed is reported within 2 s`, async () => {
    const dir = path.join(root, mode.replace(/\W/g, ''));
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    const events = { count: 0, waiters: [] as ((t: number) => void)[] };
    // "poll only": point the watcher at a folder created later, so fs.watch cannot cover it.
    const watched = mode === 'poll only' ? path.join(dir, 'later') : dir;
    const w = new ModelWatcher(
      [watched],
      () => {
        events.count++;
        for (const f of events.waiters.splice(0)) f(performance.now());
      },
      { debounceMs: 100, pollMs: 500 },
    );
    w.start();
    try {
      await settle(300);
      if (mode === 'poll only') fs.mkdirSync(path.join(watched, 'sub'), { recursive: true });
      const target = path.join(watched, 'sub', 'copied.gguf');

      let waited = nextChange(events, DEADLINE_MS);
      fs.copyFileSync(source, target);
      const addMs = await waited;
      console.log(`${mode}: add reported after ${addMs.toFixed(0)} ms`);

      // An unrelated file is not a model change.
      const before = events.count;
      fs.writeFileSync(path.join(watched, 'notes.txt'), 'hello');
      await settle(1200);
      assert.equal(events.count, before, 'a non-GGUF file must not be reported');

      waited = nextChange(events, DEADLINE_MS);
      fs.rmSync(target);
      const removeMs = await waited;
      console.log(`${mode}: removal reported after ${removeMs.toFixed(0)} ms`);
      assert.ok(addMs < DEADLINE_MS && removeMs < DEADLINE_MS);
    } finally {
      w.close();
    }
  });
}

test('close() stops all reports', async () => {
  const dir = path.join(root, 'closed');
  fs.mkdirSync(dir);
  let count = 0;
  const w = new ModelWatcher([dir], () => count++, { debounceMs: 50, pollMs: 200 });
  w.start();
  await settle(300);
  w.close();
  fs.copyFileSync(source, path.join(dir, 'late.gguf'));
  await settle(800);
  assert.equal(count, 0);
});
