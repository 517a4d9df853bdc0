// API keys never leave the daemon: one key from the environment (apiKeyEnv), one from
// backstop/setSecret, both sent to a fault server that quotes them back in 401 bodies. Afterwards
// neither key may appear in the state dir, the daemon's stderr (debug level), any response, error,
// attempt record or notification — and auth failures must say which key to set.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { methods } from '../../protocol/index';
import type { CompleteResult, ModelInfo } from '../../protocol/types';
import { FAULT_MODELS, FIXED_ANSWER, startFaultServer, type FaultServer } from '../fixtures/faultServer';
import { spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

const ENV_NAME = 'BACKSTOP_TEST_KEY';
// Shapes no redaction pattern knows (no "sk-", no "Bearer" context in bodies): only exact-key
// redaction can catch them.
const ENV_KEY = `envkey${crypto.randomBytes(12).toString('hex')}`;
const RPC_KEY = `rpckey${crypto.randomBytes(12).toString('hex')}`;
const ROTATED_KEY = `rotated${crypto.randomBytes(12).toString('hex')}`;
const KEYS = [ENV_KEY, RPC_KEY, ROTATED_KEY];

let fault: FaultServer;
let d: ReturnType<typeof spawnStdio>;
let dir: string;
/** Every response, error and notification the daemon sent, as JSON text. */
const seen: string[] = [];

before(async () => {
  fault = await startFaultServer();
  dir = tmpDir('backstop-secrets-');
  const cfg = writeConfig(dir, {
    providers: [
      {
        id: 'env',
        type: 'openai-compatible',
        baseUrl: `${fault.url}/v1`,
        apiKeyEnv: ENV_NAME,
        models: ['ok', 'unauthorized'],
      },
      { id: 'rpc', type: 'openai-compatible', baseUrl: `${fault.url}/v1`, models: ['ok', 'unauthorized'] },
    ],
    chain: ['env/unauthorized', 'env/ok'],
    maxRetries: 1,
    backoff: { baseMs: 50, maxMs: 100 },
  });
  d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')], {
    [ENV_NAME]: ENV_KEY,
    BACKSTOP_LOG_LEVEL: 'debug',
  });
  d.conn.onNotification((method: string, params: unknown): void => {
    seen.push(`${method} ${JSON.stringify(params)}`);
  });
});

after(async () => {
  await d.kill();
  await fault.close();
});

async function call<R>(method: { method: string }, params?: unknown): Promise<R | { error: unknown }> {
  try {
    const r =
      params === undefined
        ? await d.conn.sendRequest<R>(method.method)
        : await d.conn.sendRequest<R>(method.method, params);
    seen.push(JSON.stringify(r));
    return r;
  } catch (e) {
    const { message, code, data } = e as { message: string; code: number; data?: unknown };
    seen.push(JSON.stringify({ message, code, data }));
    return { error: { message, code, data } };
  }
}

interface Failed {
  error: { message: string; data?: { attempts?: { message?: string }[] } };
}
const isError = (r: unknown): r is Failed => typeof r === 'object' && r !== null && 'error' in r;

function ok<R>(r: R | { error: unknown }): R {
  if (isError(r)) throw new Error(`expected success: ${JSON.stringify(r.error)}`);
  return r as R;
}

function walk(p: string): string[] {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return [p];
  return fs.readdirSync(p).flatMap((n) => walk(path.join(p, n)));
}

describe('API keys never leak', { concurrency: false }, () => {
  it('an env key rejected with 401: fallback answers, the model needs a key, the message names the variable', async () => {
    const r = ok(await call<CompleteResult>(methods.complete, { prompt: 'hi', maxTokens: 10 }));
    assert.equal(r.text, FIXED_ANSWER);
    assert.equal(r.modelUsed, 'env/ok');
    const auth = r.attempts.find((a) => a.model === 'env/unauthorized');
    assert.equal(auth?.failure, 'auth');
    assert.ok(auth.message?.includes(ENV_NAME), `names ${ENV_NAME}: ${auth.message}`);
    assert.match(
      auth.message ?? '',
      /Incorrect API key provided: \*\*\*/,
      'the quoted key was replaced, the rest kept',
    );
    // The server did receive (and quote back) the key: the redaction is what kept it out.
    const sent = fault.attempts.find((a) => a.fault === FAULT_MODELS.unauthorized);
    assert.ok(String(sent?.headers.authorization).includes(ENV_KEY), 'the env key was sent');
    const { models } = ok(await call<{ models: ModelInfo[] }>(methods.models, {}));
    const m = models.find((x) => x.id === 'env/unauthorized');
    assert.equal(m?.health.needsKey, true);
    assert.match(m.health.lastFailureMessage ?? '', /key/i);
  });

  it('streamed and unanswered 401s: the error and every attempt are redacted', async () => {
    await call(methods.complete, { prompt: 'hi', maxTokens: 10, streamId: 's1' });
    const r = await call(methods.complete, { prompt: 'hi', maxTokens: 10, chain: ['env/unauthorized'] });
    assert.ok(isError(r), 'a chain of only the rejected model fails');
    assert.ok((r.error.data?.attempts ?? []).length >= 1);
  });

  it('a key given with backstop/setSecret is used, redacted, rotated and cleared', async () => {
    await call(methods.setSecret, { providerId: 'rpc', apiKey: RPC_KEY });
    const r = ok(
      await call<CompleteResult>(methods.complete, {
        prompt: 'hi',
        maxTokens: 10,
        chain: ['rpc/unauthorized', 'rpc/ok'],
        streamId: 's2',
      }),
    );
    assert.equal(r.modelUsed, 'rpc/ok');
    assert.ok(
      fault.attempts.some(
        (a) => a.fault === FAULT_MODELS.unauthorized && String(a.headers.authorization).includes(RPC_KEY),
      ),
      'the rpc key was sent',
    );
    const auth = r.attempts.find((a) => a.model === 'rpc/unauthorized');
    assert.equal(auth?.failure, 'auth');
    assert.match(auth.message ?? '', /setSecret/, 'says how to set the key');
    await call(methods.setSecret, { providerId: 'rpc', apiKey: ROTATED_KEY });
    await call(methods.complete, { prompt: 'hi', maxTokens: 10, chain: ['rpc/unauthorized', 'rpc/ok'] });
    assert.ok(
      fault.attempts.some((a) => String(a.headers.authorization).includes(ROTATED_KEY)),
      'the rotated key was sent',
    );
    await call(methods.setSecret, { providerId: 'rpc', apiKey: null });
    for (const m of [methods.status, methods.health, methods.stats, methods.getConfig, methods.discover]) await call(m);
    await call(methods.models, { refresh: true });
  });

  it('no key in the state dir, the daemon stderr, or anything the daemon sent', async () => {
    await d.kill(); // flush state and logs
    const stderr = d.stderr();
    assert.ok(stderr.length > 0 && /debug/.test(stderr), 'debug logging was on');
    const files = walk(path.join(dir, 'state'));
    assert.ok(files.length > 0, 'the daemon wrote state');
    assert.ok(seen.length > 5);
    for (const key of KEYS) {
      for (const f of files) assert.ok(!fs.readFileSync(f, 'latin1').includes(key), `${key.slice(0, 6)}… in ${f}`);
      assert.ok(!stderr.includes(key), `${key.slice(0, 6)}… in stderr`);
      const hit = seen.find((s) => s.includes(key));
      assert.equal(hit, undefined, `${key.slice(0, 6)}… sent to the client: ${hit?.slice(0, 300)}`);
    }
  });
});
