// Issue 15, finding 1, through the BUILT daemon: a models folder holding a bit-flipped GGUF (it
// aborted the daemon natively during the start-up scan, every start), a version-99 GGUF (it was
// listed as ready) and random bytes next to a good model. The daemon starts, lists each bad file as
// incompatible with its reason, and completes on the good model.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { methods } from '../../protocol/index';
import type { CompleteResult, ModelInfo, Status } from '../../protocol/types';
import { ensureFixtureModel, writeBrokenGguf } from '../fixtures/genGguf';
import { spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

const NO_SCAN = { lmStudio: false, huggingFace: false, nodeLlamaCpp: false, llamaCpp: false };
const EXPECTED = ['local/tiny', 'local/flipped', 'local/v99', 'local/noise'];

let d: ReturnType<typeof spawnStdio>;

before(async () => {
  const dir = tmpDir('backstop-corrupt-gguf-');
  const models = path.join(dir, 'models');
  fs.mkdirSync(models);
  const good = await ensureFixtureModel('tiny');
  fs.copyFileSync(good, path.join(models, 'tiny.gguf'));
  const bytes = fs.readFileSync(good);
  const flipped = Buffer.from(bytes);
  flipped[24 + 3]! ^= 0x80; // bit 31 of the first key's length
  fs.writeFileSync(path.join(models, 'flipped.gguf'), flipped);
  const v99 = Buffer.from(bytes);
  v99.writeUInt32LE(99, 4);
  fs.writeFileSync(path.join(models, 'v99.gguf'), v99);
  writeBrokenGguf(path.join(models, 'noise.gguf'));
  const cfg = writeConfig(dir, {
    providers: [{ id: 'local', type: 'local', modelsDirs: [models], scan: NO_SCAN, threads: 1 }],
    chain: ['local/tiny'],
  });
  d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
});

after(async () => {
  if (process.env.DEBUG_DAEMON) console.error(d.stderr());
  await d.kill();
});

async function listed(): Promise<ModelInfo[]> {
  const t0 = Date.now();
  for (;;) {
    if (d.child.exitCode !== null || d.child.signalCode !== null) {
      throw new Error(`the daemon died (${d.child.signalCode ?? d.child.exitCode}): ${d.stderr()}`);
    }
    // A daemon that aborted natively never answers: race the request with its exit.
    const died = d.exited.then((code) => {
      throw new Error(`the daemon died (${d.child.signalCode ?? code}): ${d.stderr().slice(-2000)}`);
    });
    const { models } = await Promise.race([
      d.conn.sendRequest<{ models: ModelInfo[] }>(methods.models.method, {}),
      died,
    ]);
    if (EXPECTED.every((id) => models.some((m) => m.id === id))) return models;
    if (Date.now() - t0 > 20_000) throw new Error(`models never listed: ${JSON.stringify(models.map((m) => m.id))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a corrupt GGUF in a models folder', () => {
  it('does not stop the daemon; each bad file is incompatible with its reason', async () => {
    const models = await listed();
    const byId = (id: string) => models.find((m) => m.id === id)!;
    assert.equal(byId('local/tiny').availability, 'ready');
    const flipped = byId('local/flipped');
    assert.equal(flipped.availability, 'incompatible');
    assert.match(flipped.reason ?? '', /metadata key #0 at byte 24 declares 2147483668 bytes/);
    const v99 = byId('local/v99');
    assert.equal(v99.availability, 'incompatible');
    assert.match(v99.reason ?? '', /^unsupported GGUF version 99/);
    assert.equal(byId('local/noise').availability, 'incompatible');
    assert.equal(byId('local/noise').reason, 'not a GGUF file (bad magic)');
  });

  it('serves the good model and stays up', async () => {
    const r = await d.conn.sendRequest<CompleteResult>(methods.complete.method, {
      prompt: 'Once upon a time',
      maxTokens: 8,
      temperature: 0,
      chain: ['local/tiny'],
    });
    assert.equal(r.modelUsed, 'local/tiny');
    assert.ok(r.text.length > 0);
    const s = await d.conn.sendRequest<Status>(methods.status.method, {});
    assert.deepEqual(s.chain, ['local/tiny']);
    assert.equal(d.child.exitCode, null);
  });

  it('a bad model in the chain fails as model_load with the reason, not a crash', async () => {
    const err = await d.conn
      .sendRequest(methods.complete.method, { prompt: 'x', maxTokens: 4, chain: ['local/v99'] })
      .then(
        () => undefined,
        (e: unknown) => e as { message: string; data?: { attempts?: { failure?: string; message?: string }[] } },
      );
    assert.ok(err, 'the request fails');
    const attempt = err.data?.attempts?.[0];
    assert.equal(attempt?.failure, 'model_load');
    assert.match(attempt?.message ?? '', /unsupported GGUF version 99/);
    assert.equal(d.child.exitCode, null);
  });
});
