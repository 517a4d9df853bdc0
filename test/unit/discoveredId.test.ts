// Discovered names that cannot make a model id are skipped with a log line, never a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { discoveredModelId } from '../../server/discovery/discoveredId';
import { scanLocalModels } from '../../server/discovery/localScan';

test('a valid name makes an id; an invalid one is skipped with the reason', () => {
  const why: string[] = [];
  const id = (name: string) => discoveredModelId('local', name, (w) => why.push(w));
  assert.equal(id('org/model-q4'), 'local/org/model-q4');
  assert.equal(id(' spaced '), undefined);
  assert.equal(id(''), undefined);
  assert.equal(id('..'), undefined);
  assert.equal(why.length, 3);
  assert.match(why[0] ?? '', /skipping model " spaced " of provider "local": .*spaces/);
});

test('the local scan skips GGUF files whose name makes no model id, and says which', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-discovered-id-'));
  try {
    // Empty files: the valid one is listed as incompatible without loading the GGUF reader.
    for (const name of ['.gguf', '..gguf', ' spaced .gguf', 'fine.gguf']) fs.writeFileSync(path.join(dir, name), '');
    const warnings: string[] = [];
    const list = await scanLocalModels({
      modelsDirs: [dir],
      homeDir: path.join(dir, 'nohome'),
      providerId: 'mine',
      logger: { warn: (m) => warnings.push(m) },
    });
    assert.deepEqual(
      list.map((e) => e.id),
      ['mine/fine'],
    );
    assert.equal(list[0]?.ok, false);
    assert.equal(warnings.length, 3, warnings.join('\n'));
    assert.ok(
      warnings.every((w) => w.startsWith('skipping model ') && w.includes(dir)),
      warnings.join('\n'),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
