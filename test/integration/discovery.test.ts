// Local model discovery on real generated GGUF files, read by the real node-llama-cpp reader.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { scanLocalModels, wellKnownDirs, type LocalModelEntry } from '../../server/discovery/localScan';
import { writeGguf, writeBrokenGguf } from '../fixtures/genGguf';

let root: string;
let models: string;
let home: string;

/** Parameters of the generator's llama layout: embeddings, per-layer attention + FFN + norms, output. */
function expectedParams(embd: number, layers: number, ff: number, vocab = 260): number {
  const perLayer = 2 * embd + 4 * embd * embd + 3 * embd * ff;
  return 2 * embd * vocab + layers * perLayer + embd;
}

function byName(list: LocalModelEntry[], name: string): LocalModelEntry {
  const e = list.find((x) => x.name === name);
  assert.ok(e, `${name} missing from scan: ${list.map((x) => x.name).join(', ')}`);
  return e;
}

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-discovery-'));
  models = path.join(root, 'models');
  home = path.join(root, 'home');
  fs.mkdirSync(path.join(models, 'nested', 'deeper'), { recursive: true });
  writeGguf(path.join(models, 'tiny.gguf'), { embd: 64, layers: 2, heads: 4, ff: 128, ctx: 2048 });
  writeGguf(path.join(models, 'nested', 'deeper', 'small-l4.gguf'), {
    embd: 256,
    layers: 4,
    heads: 4,
    ff: 512,
    ctx: 4096,
    f16: true,
  });
  writeBrokenGguf(path.join(models, 'broken.gguf'));
  const tiny = fs.readFileSync(path.join(models, 'tiny.gguf'));
  fs.writeFileSync(path.join(models, 'tiny-truncated.gguf'), tiny.subarray(0, Math.floor(tiny.length * 0.6)));
  // A symlink cycle must not loop or list files twice.
  fs.symlinkSync(models, path.join(models, 'nested', 'loop'));
  // Parts 2..N of a split model are not models on their own.
  fs.copyFileSync(path.join(models, 'tiny.gguf'), path.join(models, 'split-00002-of-00002.gguf'));
});

after(() => fs.rmSync(root, { recursive: true, force: true }));

test('reports metadata of good files and why bad ones are incompatible, without throwing', async () => {
  const list = await scanLocalModels({ modelsDirs: [models], homeDir: home });
  assert.deepEqual(list.map((e) => e.name).sort(), ['broken', 'small-l4', 'tiny', 'tiny-truncated']);

  const tiny = byName(list, 'tiny');
  assert.equal(tiny.ok, true, tiny.reason);
  assert.equal(tiny.id, 'local/tiny');
  assert.equal(tiny.sizeBytes, fs.statSync(path.join(models, 'tiny.gguf')).size);
  assert.equal(tiny.contextLength, 2048);
  assert.equal(tiny.quantization, 'F32');
  assert.equal(tiny.architecture, 'llama');
  assert.equal(tiny.layers, 2);
  assert.equal(tiny.parameterCount, expectedParams(64, 2, 128));
  assert.equal(tiny.parameters, '116K');
  assert.equal(tiny.hasChatTemplate, false);
  assert.deepEqual(tiny.capabilities, ['completion', 'json']);

  const l4 = byName(list, 'small-l4');
  assert.equal(l4.ok, true, l4.reason);
  assert.equal(l4.sizeBytes, fs.statSync(path.join(models, 'nested', 'deeper', 'small-l4.gguf')).size);
  assert.equal(l4.contextLength, 4096);
  assert.equal(l4.quantization, 'F16');
  assert.equal(l4.parameterCount, expectedParams(256, 4, 512));
  assert.equal(l4.parameters, '2.8M');

  const broken = byName(list, 'broken');
  assert.equal(broken.ok, false);
  assert.equal(broken.reason, 'not a GGUF file (bad magic)');
  assert.equal(broken.sizeBytes, 4096);

  const truncated = byName(list, 'tiny-truncated');
  assert.equal(truncated.ok, false);
  assert.match(truncated.reason ?? '', /^truncated: tensor data ends at \d+ but file is \d+ bytes/);
  assert.equal(truncated.sizeBytes, Math.floor(fs.statSync(path.join(models, 'tiny.gguf')).size * 0.6));
});

test('a duplicate id keeps the usable file, whatever folder comes first', async () => {
  const a = path.join(root, 'dup-a');
  const b = path.join(root, 'dup-b');
  fs.mkdirSync(a);
  fs.mkdirSync(b);
  writeBrokenGguf(path.join(a, 'same.gguf'));
  writeGguf(path.join(b, 'same.gguf'), { ctx: 1024 });
  writeGguf(path.join(a, 'other.gguf'), { ctx: 512 });
  writeGguf(path.join(b, 'other.gguf'), { ctx: 256 });
  const list = await scanLocalModels({ modelsDirs: [a, b], homeDir: home, providerId: 'mine' });
  assert.deepEqual(list.map((e) => e.id).sort(), ['mine/other', 'mine/same']);
  assert.equal(list.find((e) => e.id === 'mine/same')?.path, path.join(b, 'same.gguf'));
  // Both usable: the earlier folder wins.
  assert.equal(list.find((e) => e.id === 'mine/other')?.contextLength, 512);
});

test('finds models in the Hugging Face cache layout (snapshot symlinks to blobs) and honours the toggles', async () => {
  const repo = path.join(home, '.cache', 'huggingface', 'hub', 'models--acme--tiny-coder-GGUF');
  fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
  fs.mkdirSync(path.join(repo, 'snapshots', 'abc123'), { recursive: true });
  writeGguf(path.join(repo, 'blobs', 'f00d'), { ctx: 32768 });
  fs.symlinkSync(path.join('..', '..', 'blobs', 'f00d'), path.join(repo, 'snapshots', 'abc123', 'tiny-coder.Q8.gguf'));

  const list = await scanLocalModels({ modelsDirs: [], homeDir: home });
  const hf = byName(list, 'tiny-coder.Q8');
  assert.equal(hf.ok, true, hf.reason);
  assert.equal(hf.sourceUrl, 'https://huggingface.co/acme/tiny-coder-GGUF');
  assert.equal(hf.sizeBytes, fs.statSync(path.join(repo, 'blobs', 'f00d')).size);
  assert.deepEqual(hf.capabilities, ['completion', 'json', 'code', 'long_context']);

  const off = await scanLocalModels({ modelsDirs: [], homeDir: home, scan: { huggingFace: false } });
  assert.equal(off.length, 0);
  assert.ok(!wellKnownDirs(home, { huggingFace: false }).some((d) => d.includes('huggingface')));
  assert.deepEqual(
    wellKnownDirs(home, { lmStudio: false, huggingFace: false, nodeLlamaCpp: false, llamaCpp: false }),
    [],
  );
  assert.ok(wellKnownDirs(home, undefined).includes(path.join(home, '.lmstudio', 'models')));
});

test('a folder that does not exist is an empty answer, not an error', async () => {
  const list = await scanLocalModels({ modelsDirs: [path.join(root, 'nope')], homeDir: path.join(root, 'nohome') });
  assert.deepEqual(list, []);
});
