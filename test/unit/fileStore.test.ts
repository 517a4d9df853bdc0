// The state store keeps disk writes off the request path: writes coalesce into one atomic write per
// key per interval, and flush() on shutdown writes what is left.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FileStore } from '../../server/store/fileStore';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-store-'));

test('a write answers from memory at once and reaches the disk later, coalesced', async () => {
  const dir = tmp();
  const store = new FileStore(dir, { flushIntervalMs: 60_000 });
  for (let i = 0; i < 500; i++) store.write('health', { n: i });
  assert.deepEqual(store.read('health'), { n: 499 });
  assert.equal(fs.existsSync(path.join(dir, 'health.json')), false, 'no synchronous write on the request path');
  await store.flushAsync();
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'health.json'), 'utf8')), { n: 499 });
  assert.deepEqual(fs.readdirSync(dir), ['health.json'], 'no temp files left behind');
});

test('the interval timer writes without being asked', async () => {
  const dir = tmp();
  const store = new FileStore(dir, { flushIntervalMs: 20 });
  store.write('stats', { total: 3 });
  for (let i = 0; i < 100 && !fs.existsSync(path.join(dir, 'stats.json')); i++)
    await new Promise((r) => setTimeout(r, 10));
  await store.flushAsync();
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'stats.json'), 'utf8')), { total: 3 });
});

test('flush() writes what is dirty synchronously (shutdown), and a fresh store reads it back', () => {
  const dir = tmp();
  const store = new FileStore(dir, { flushIntervalMs: 60_000 });
  store.write('a', [1, 2, 3]);
  store.write('b', { ok: true });
  store.flush();
  const again = new FileStore(dir);
  assert.deepEqual(again.read('a'), [1, 2, 3]);
  assert.deepEqual(again.read('b'), { ok: true });
  const mode = fs.statSync(path.join(dir, 'a.json')).mode & 0o777;
  assert.equal(mode, 0o600);
});

test('a bad key is refused at write time', () => {
  const store = new FileStore(tmp());
  assert.throws(() => store.write('../escape', 1), /invalid store key/);
});
