// Native GGUF reads run in a child process. With the JavaScript header check turned off, the real
// node-llama-cpp abort on a bit-flipped header (the one that killed the daemon) costs only that
// process: the file is marked incompatible with the native reason, is not read again until its size
// or mtime changes, and the next file is read by a fresh process. A reader that hangs is killed
// after the timeout and the file is marked the same way. With the check on, no process starts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GgufReader, GgufUnusableError } from '../../server/native/ggufReader';
import { writeGguf } from '../fixtures/genGguf';

const HANGING_WORKER = path.resolve(__dirname, '..', 'fixtures', 'hangingGgufWorker.ts');

let dir: string;
let tiny: string;
let flipped: string;
let v99: string;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-gguf-reader-'));
  tiny = path.join(dir, 'tiny.gguf');
  writeGguf(tiny, { ctx: 2048 });
  const bytes = fs.readFileSync(tiny);
  // Bit 31 of the first key's length: node-llama-cpp asks Node for a 2 GiB read and aborts natively.
  const flip = Buffer.from(bytes);
  flip[24 + 3]! ^= 0x80;
  flipped = path.join(dir, 'flipped.gguf');
  fs.writeFileSync(flipped, flip);
  const v = Buffer.from(bytes);
  v.writeUInt32LE(99, 4);
  v99 = path.join(dir, 'v99.gguf');
  fs.writeFileSync(v99, v);
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a file that aborts the native reader is incompatible with the reason; the reader process is replaced', async () => {
  const warnings: string[] = [];
  const reader = new GgufReader({ checkHeaders: false, warn: (m) => warnings.push(m) });
  try {
    const crashed = await reader.describe(flipped, 'flipped');
    assert.equal(crashed.ok, false);
    assert.match(crashed.reason ?? '', /^the GGUF reader crashed on this file \(SIGABRT: Assertion failed: /);
    assert.match(crashed.reason ?? '', /not read again until it changes/);
    assert.equal(warnings.length, 1);
    assert.equal(await reader.quarantined(flipped), crashed.reason);
    assert.equal(reader.workerPid(), undefined, 'the crashed process is gone');

    // Not read again: answered without a reader process.
    const again = await reader.describe(flipped, 'flipped');
    assert.equal(again.reason, crashed.reason);
    assert.equal(reader.workerPid(), undefined);
    await assert.rejects(reader.estimate(flipped, 512, 0), GgufUnusableError);
    assert.equal(reader.workerPid(), undefined);

    // The next good file is read by a new process.
    const good = await reader.describe(tiny, 'tiny');
    assert.equal(good.ok, true, good.reason);
    assert.equal(good.contextLength, 2048);
    assert.ok(reader.workerPid() !== undefined);

    // A changed file (new mtime) is read again, and crashes again.
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(flipped, t, t);
    assert.equal(await reader.quarantined(flipped), undefined);
    const reread = await reader.describe(flipped, 'flipped');
    assert.match(reread.reason ?? '', /crashed on this file/);
    assert.equal(warnings.length, 2);
  } finally {
    reader.dispose();
  }
});

test('with the header check (the default) a corrupt header and version 99 never reach a reader process', async () => {
  const reader = new GgufReader();
  try {
    const f = await reader.describe(flipped, 'flipped');
    assert.equal(f.ok, false);
    assert.match(f.reason ?? '', /metadata key #0 at byte 24 declares 2147483668 bytes/);
    const v = await reader.describe(v99, 'v99');
    assert.equal(v.ok, false);
    assert.match(v.reason ?? '', /^unsupported GGUF version 99/);
    await assert.rejects(reader.insights(v99), (e: unknown) => {
      assert.ok(e instanceof GgufUnusableError);
      assert.equal(e.kind, 'unsupported_version');
      return true;
    });
    assert.equal(reader.workerPid(), undefined, 'no reader process was needed');
    const est = await reader.estimate(tiny, 512, 0);
    assert.ok(est.ramBytes > fs.statSync(tiny).size);
  } finally {
    reader.dispose();
  }
});

test('a reader that hangs on a file is killed after the timeout and the file is marked incompatible', async () => {
  const reader = new GgufReader({
    workerPath: HANGING_WORKER,
    execArgv: ['--import', 'tsx'],
    readTimeoutMs: 300,
  });
  try {
    const started = Date.now();
    const pending = reader.describe(tiny, 'tiny');
    // The process exists while it hangs.
    const pid = await new Promise<number>((resolve) => {
      const poll = () => {
        const p = reader.workerPid();
        if (p !== undefined) resolve(p);
        else setTimeout(poll, 10);
      };
      poll();
    });
    const d = await pending;
    assert.equal(d.ok, false);
    assert.match(d.reason ?? '', /^reading this GGUF file did not finish within 0\.3 s/);
    assert.ok(Date.now() - started < 15_000);
    assert.equal(await reader.quarantined(tiny), d.reason);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(alive(pid), false, 'the hung process was killed');
  } finally {
    reader.dispose();
  }
});
