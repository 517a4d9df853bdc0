// The protocol declarations against the running daemon: every declared request is served (none is
// "method not found"), and a wrong-typed field in any method's params is answered with -32602 that
// names the field, before any handler runs. The daemon runs with result checking on (test helper),
// so every result here also matched its declared schema.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { requests } from '../../protocol/contract';
import { ErrorCodes } from '../../protocol/errors';
import { spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

type Json = { type?: unknown; properties?: Record<string, Json>; enum?: unknown[]; anyOf?: Json[]; oneOf?: Json[] };
type RpcErr = { code: number; message: string; data?: { field?: string } };

/** The params object schema as JSON Schema (the first branch of a union). */
function objectSchema(schema: z.ZodType): Json | undefined {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  const branches = json.anyOf ?? json.oneOf;
  const obj = branches ? branches.find((b) => b.properties) : json;
  return obj?.properties ? obj : undefined;
}

/** A value of the wrong type for a property. */
function wrongValue(p: Json): unknown {
  if (p.enum) return 12345;
  switch (p.type) {
    case 'string':
      return 12345;
    case 'number':
    case 'integer':
      return 'not a number';
    case 'boolean':
      return 'not a boolean';
    case 'array':
      return 'not an array';
    case 'object':
      return 42;
    default:
      return Symbol.for('unused');
  }
}

describe('the declared contract, over stdio', () => {
  let d: ReturnType<typeof spawnStdio>;
  before(() => {
    const dir = tmpDir();
    const cfg = writeConfig(dir, {
      providers: [
        {
          id: 'local',
          type: 'local',
          modelsDirs: [path.join(dir, 'models')],
          scan: {
            lmStudio: false,
            huggingFace: false,
            nodeLlamaCpp: false,
            llamaCpp: false,
          },
        },
      ],
    });
    d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
  });
  after(async () => d.kill());

  const withParams = Object.entries(requests).filter(([, decl]) => decl.params !== null);

  for (const [name, decl] of withParams) {
    it(`${decl.method}: a wrong-typed field is -32602 naming it`, async () => {
      let params: Record<string, unknown>;
      let field: string;
      if (name === 'setConfig') {
        // setConfig takes any subset of the configuration; the merged result is validated.
        params = { timeoutMs: 'soon' };
        field = 'timeoutMs';
      } else {
        const obj = objectSchema(decl.params as z.ZodType);
        assert.ok(obj?.properties, `${decl.method} declares object params`);
        const [key, prop] = Object.entries(obj.properties)[0]!;
        const bad = wrongValue(prop);
        assert.notEqual(bad, Symbol.for('unused'), `no wrong value for ${key}: ${JSON.stringify(prop)}`);
        params = { [key]: bad };
        if (name === 'monitor') params = { action: 'start', durationS: 'long' };
        field = name === 'monitor' ? 'durationS' : key;
      }
      const err = await d.conn.sendRequest(decl.method, params).then(
        (r) => assert.fail(`${decl.method} accepted ${JSON.stringify(params)}: ${JSON.stringify(r)}`),
        (e: RpcErr) => e,
      );
      assert.equal(err.code, ErrorCodes.InvalidParams, `${decl.method}: ${err.message}`);
      assert.match(err.message, new RegExp(`\\b${field}\\b`), err.message);
      assert.equal(err.data?.field?.split('.')[0], field);
    });
  }

  it('a nested wrong field is named by its path (messages.0.role)', async () => {
    const err = await d.conn
      .sendRequest(requests.complete.method, { messages: [{ role: 'robot', content: 'x' }] })
      .then(
        () => assert.fail('accepted'),
        (e: RpcErr) => e,
      );
    assert.equal(err.code, ErrorCodes.InvalidParams);
    assert.equal(err.data?.field, 'messages.0.role');
  });

  it('an invalid model id is refused before any handler (setChain with "local/../../etc/passwd")', async () => {
    const err = await d.conn.sendRequest(requests.setChain.method, { chain: ['local/../../etc/passwd'] }).then(
      () => assert.fail('accepted'),
      (e: RpcErr) => e,
    );
    assert.equal(err.code, ErrorCodes.InvalidParams);
    assert.equal(err.data?.field, 'chain.0');
  });

  for (const [, decl] of Object.entries(requests).filter(([, x]) => x.params === null)) {
    it(`${decl.method}: served, and its result matches the declaration`, async () => {
      const result: unknown = await d.conn.sendRequest(decl.method);
      const r = decl.result.safeParse(result);
      assert.ok(r.success, `${decl.method}: ${r.success ? '' : r.error.message}`);
    });
  }
});

describe('backstop/fallbacks (the recipe example in docs/architecture.md)', () => {
  it('lists the fallbacks the daemon saw, newest first, and honours limit', async () => {
    const dir = tmpDir();
    const cfg = writeConfig(dir, {
      providers: [
        {
          id: 'local',
          type: 'local',
          modelsDirs: [path.join(dir, 'models')],
          scan: {
            lmStudio: false,
            huggingFace: false,
            nodeLlamaCpp: false,
            llamaCpp: false,
          },
        },
      ],
      mockGeneration: true,
    });
    const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    try {
      const before = await d.conn.sendRequest<{ fallbacks: unknown[] }>(requests.fallbacks.method, {});
      assert.deepEqual(before.fallbacks, []);
      await d.conn.sendRequest(requests.complete.method, {
        prompt: 'x',
        chain: ['local/a', 'local/b'],
        forceFail: { models: ['local/a', 'local/b'], kind: 'server_error' },
      });
      type Fb = { from: string; to: string; failure: string; at: string };
      const all = await d.conn.sendRequest<{ fallbacks: Fb[] }>(requests.fallbacks.method, {});
      assert.ok(all.fallbacks.length >= 2, JSON.stringify(all.fallbacks));
      assert.equal(all.fallbacks[0]?.to, 'backstop/mock', 'newest first: the mock answer came last');
      assert.ok(all.fallbacks.some((f) => f.from === 'local/a' && f.to === 'local/b' && f.failure === 'server_error'));
      const one = await d.conn.sendRequest<{ fallbacks: Fb[] }>(requests.fallbacks.method, { limit: 1 });
      assert.deepEqual(one.fallbacks, all.fallbacks.slice(0, 1));
    } finally {
      await d.kill();
    }
  });
});
