// The handler table validates params from the declarations, and the generated files match them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { requests } from '../../protocol/contract';
import { ErrorCodes } from '../../protocol/errors';
import * as methods from '../../protocol/methods';
import { HandlerTable, type Handlers } from '../../server/rpc/handlerTable';

const ROOT = path.resolve(__dirname, '..', '..');
const ctx = { signal: new AbortController().signal, peer: { id: 't', notify() {} } };

/** A table whose every handler echoes what it received. */
function echoTable(checkResults = false): HandlerTable {
  const handlers = Object.fromEntries(Object.keys(requests).map((k) => [k, (p: unknown) => ({ got: p })]));
  return new HandlerTable(handlers as unknown as Handlers, { checkResults });
}

describe('HandlerTable', () => {
  it('serves exactly the declared methods', () => {
    assert.deepEqual(
      echoTable().methods().sort(),
      Object.values(requests)
        .map((d) => d.method)
        .sort(),
    );
  });

  it('hands validated params to the handler (defaults applied, unknown keys dropped)', async () => {
    const r = (await echoTable().call('backstop/setChain', { chain: ['a/b'], extra: 1 }, ctx)) as { got: unknown };
    assert.deepEqual(r.got, { chain: ['a/b'] });
  });

  it('answers -32602 naming the field before the handler runs', async () => {
    let ran = false;
    const handlers = Object.fromEntries(
      Object.keys(requests).map((k) => [
        k,
        () => {
          ran = true;
        },
      ]),
    );
    const t = new HandlerTable(handlers as unknown as Handlers);
    await assert.rejects(
      t.call('backstop/estimateWait', { model: 'a/b', priority: 'urgent' }, ctx),
      (e: { code: number; data: { field: string } }) => {
        assert.equal(e.code, ErrorCodes.InvalidParams);
        assert.equal(e.data.field, 'priority');
        return true;
      },
    );
    assert.equal(ran, false);
  });

  it('unknown methods are -32601', async () => {
    await assert.rejects(
      echoTable().call('backstop/nope', {}, ctx),
      (e: { code: number }) => e.code === ErrorCodes.MethodNotFound,
    );
  });

  it('with checkResults, a result that breaks its declaration is an internal error naming the path', async () => {
    await assert.rejects(
      echoTable(true).call('backstop/stats', undefined, ctx),
      (e: { code: number; message: string }) => {
        assert.equal(e.code, ErrorCodes.InternalError);
        assert.match(e.message, /backstop\/stats/);
        return true;
      },
    );
  });
});

describe('generated protocol files', () => {
  it('methods.ts has one constant per declaration, with the same method name', () => {
    for (const [key, decl] of Object.entries(requests)) {
      const c = (methods as unknown as Record<string, { method: string } | undefined>)[key];
      assert.equal(c?.method, decl.method, key);
    }
  });

  it('methods.ts and docs/protocol.md are up to date (npm run gen:protocol)', () => {
    execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'genProtocol.ts'), '--check'], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  });
});

describe('by-position params', () => {
  it('[obj] and [obj, null] are read as obj; other arrays are refused naming params', async () => {
    const t = echoTable();
    for (const params of [[{ chain: ['a/b'] }], [{ chain: ['a/b'] }, null]]) {
      const r = (await t.call('backstop/setChain', params, ctx)) as { got: unknown };
      assert.deepEqual(r.got, { chain: ['a/b'] });
    }
    await assert.rejects(t.call('backstop/setChain', [{ chain: ['a/b'] }, 5], ctx), (e: { code: number }) => {
      assert.equal(e.code, ErrorCodes.InvalidParams);
      return true;
    });
  });
});
