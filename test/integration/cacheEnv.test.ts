// HF_HOME honoured end to end (issue 18): a model in $HF_HOME/hub, not in ~/.cache/huggingface, is
// found by `backstop models` run with that environment, and not without it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { ModelInfo } from '../../protocol/types';
import { writeGguf } from '../fixtures/genGguf';
import { CLI, tmpDir, writeConfig } from '../helpers/daemon';

function models(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'models', '--json', ...args],
      { encoding: 'utf8', timeout: 60_000, env },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('a GGUF in the Hugging Face cache under $HF_HOME is discovered', async () => {
  const dir = tmpDir('backstop-cacheenv-');
  const home = path.join(dir, 'home');
  const hfHome = path.join(dir, 'elsewhere', 'hf');
  const snap = path.join(hfHome, 'hub', 'models--acme--tiny-GGUF', 'snapshots', 'rev1');
  fs.mkdirSync(snap, { recursive: true });
  fs.mkdirSync(home, { recursive: true });
  writeGguf(path.join(snap, 'tiny-hf.gguf'), { seed: 9 });
  const cfg = writeConfig(dir, { providers: [{ id: 'local', type: 'local', threads: 1 }] });
  const base = { ...process.env, HOME: home, HF_HUB_CACHE: '', HUGGINGFACE_HUB_CACHE: '', XDG_CACHE_HOME: '' };
  const args = ['--config', cfg, '--state-dir', path.join(dir, 'state')];
  try {
    const found = await models({ ...base, HF_HOME: hfHome }, args);
    assert.equal(found.code, 0, found.stderr);
    const m = (JSON.parse(found.stdout) as ModelInfo[]).find((x) => x.id === 'local/tiny-hf');
    assert.ok(m, found.stdout.slice(0, 500));
    assert.equal(m.availability, 'ready', m.reason);
    const without = await models({ ...base, HF_HOME: '' }, args);
    assert.equal(without.code, 0, without.stderr);
    assert.ok(!(JSON.parse(without.stdout) as ModelInfo[]).some((x) => x.id === 'local/tiny-hf'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
