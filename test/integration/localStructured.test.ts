// Structured output on a local GGUF through the daemon: a JSON grammar makes even a random-weight
// model answer valid JSON that matches the requested schema. A request needing tools skips a local
// model without a chat template (tool calls need one: see localTools.test.ts) with its reason.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { methods } from '../../protocol/index';
import type { CompleteResult } from '../../protocol/types';
import { ensureFixtureModel } from '../fixtures/genGguf';
import { spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

const NO_SCAN = { lmStudio: false, huggingFace: false, nodeLlamaCpp: false, llamaCpp: false };

describe('local structured output', () => {
  let d: ReturnType<typeof spawnStdio>;
  before(async () => {
    const dir = tmpDir('backstop-localjson-');
    const modelsDir = path.join(dir, 'models');
    fs.mkdirSync(modelsDir);
    fs.copyFileSync(await ensureFixtureModel('tiny'), path.join(modelsDir, 'tiny.gguf'));
    const cfg = writeConfig(dir, {
      providers: [{ id: 'local', type: 'local', modelsDirs: [modelsDir], scan: NO_SCAN, threads: 1 }],
      chain: ['local/tiny'],
    });
    d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    for (let i = 0; i < 100; i++) {
      const { models } = await d.conn.sendRequest<{ models: { id: string }[] }>(methods.models.method, {});
      if (models.some((m) => m.id === 'local/tiny')) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`local/tiny never listed\n${d.stderr()}`);
  });
  after(async () => d.kill());

  it('response_format json_schema: the answer parses and matches the schema', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string' }, count: { type: 'integer' } },
      required: ['name', 'count'],
      additionalProperties: false,
    };
    const r = await d.conn.sendRequest<CompleteResult>(methods.complete.method, {
      prompt: 'Describe a fruit as JSON',
      maxTokens: 200,
      temperature: 0,
      responseFormat: { type: 'json_schema', name: 'fruit', schema },
    });
    assert.equal(r.modelUsed, 'local/tiny');
    const v = JSON.parse(r.text) as { name: unknown; count: unknown };
    assert.equal(typeof v.name, 'string');
    assert.ok(Number.isInteger(v.count), r.text);
    assert.deepEqual(Object.keys(v).sort(), ['count', 'name']);
  });

  it('a request that needs tools skips the local model with the reason, and says none can serve it', async () => {
    const err = await d.conn
      .sendRequest(methods.complete.method, {
        messages: [{ role: 'user', content: 'weather?' }],
        tools: [{ name: 'get_weather', parameters: { type: 'object' } }],
      })
      .then(
        () => assert.fail('answered'),
        (e: { code: number; message: string; data: { attempts: { message?: string }[] } }) => e,
      );
    assert.equal(err.code, -32007);
    assert.match(err.data.attempts[0]?.message ?? '', /lacks tools/);
  });
});
