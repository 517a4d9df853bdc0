// The behaviour every cloud wire format must show against the fault server, registered once per
// format by providers.<format>.test.ts. Every error thrown is collected, and the last test checks
// that the API key appears in none of them.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GenerateOptions, GenerateRequest, GenerateResult, Provider } from '../../server/core/types';
import { ProviderError, isProviderError } from '../../server/core/types';
import type { CloudProviderConfig } from '../../protocol/config';
import { createCloudProvider } from '../../server/providers/cloud';
import type { FaultFormat, FaultServer } from '../fixtures/faultServer';
import {
  BIG_CONTEXT_LENGTH,
  CONTENT_FILTER_REASON,
  FAULT_CONTEXT_LENGTH,
  FAULT_MODELS,
  FIXED_ANSWER,
  FIXED_TOKENS,
  requireKeyModel,
  startFaultServer,
} from '../fixtures/faultServer';

/** A key shaped like a real one, so both exact and pattern redaction are exercised. */
export const TEST_KEY = 'sk-test-CANARY-0123456789abcdefXYZ';
/** Aborts must land well within the engine's 100 ms budget on a loaded 2-core machine. */
const ABORT_BUDGET_MS = 500;

export interface ContractEnv {
  server: () => FaultServer;
  /** A provider for this format; `null` = no API key configured. */
  provider: (key?: string | null) => Provider;
  /** Run generate, collecting any error for the final redaction check. */
  run: (p: Provider, req: GenerateRequest, opts?: Partial<GenerateOptions>) => Promise<GenerateResult>;
  /** Expect a rejection with `kind`; returns the error. */
  fails: (
    p: Provider,
    req: GenerateRequest,
    kind: ProviderError['kind'],
    opts?: Partial<GenerateOptions>,
  ) => Promise<ProviderError>;
  errors: unknown[];
}

export function providerContract(format: FaultFormat, config: (baseUrl: string) => CloudProviderConfig): ContractEnv {
  let server: FaultServer | undefined;
  const errors: unknown[] = [];
  const srv = (): FaultServer => {
    if (server === undefined) throw new Error('fault server not started');
    return server;
  };
  const provider = (key: string | null = TEST_KEY): Provider =>
    createCloudProvider(config(srv().url), { getApiKey: () => key ?? undefined });
  const run = async (
    p: Provider,
    req: GenerateRequest,
    opts: Partial<GenerateOptions> = {},
  ): Promise<GenerateResult> => {
    try {
      return await p.generate(req, {
        signal: opts.signal ?? AbortSignal.timeout(10_000),
        ...(opts.onDelta === undefined ? {} : { onDelta: opts.onDelta }),
      });
    } catch (e) {
      errors.push(e);
      throw e;
    }
  };
  const fails = async (
    p: Provider,
    req: GenerateRequest,
    kind: ProviderError['kind'],
    opts: Partial<GenerateOptions> = {},
  ): Promise<ProviderError> => {
    const e = await run(p, req, opts).then(
      (r) => assert.fail(`expected ${kind}, got success with ${r.text.length} chars`),
      (err: unknown) => err,
    );
    assert.ok(isProviderError(e), `not a ProviderError: ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    return e;
  };
  const env: ContractEnv = { server: srv, provider, run, fails, errors };

  before(async () => {
    server = await startFaultServer();
  });
  after(async () => {
    await server?.close();
  });
  beforeEach(() => srv().reset());

  test(`${format}: streamed success — deltas concatenate to the fixed answer, usage and finish reported`, async () => {
    const deltas: string[] = [];
    const r = await run(
      provider(),
      {
        model: FAULT_MODELS.ok,
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'say the fixed answer' },
        ],
      },
      { onDelta: (d) => deltas.push(d) },
    );
    assert.equal(deltas.join(''), FIXED_ANSWER);
    assert.equal(deltas.length, FIXED_TOKENS.length);
    assert.ok(deltas.every((d) => d.length > 0));
    assert.equal(r.text, FIXED_ANSWER);
    assert.equal(r.finishReason, 'stop');
    assert.equal(r.usage.completionTokens, FIXED_TOKENS.length);
    assert.ok(r.usage.promptTokens > 0, 'prompt tokens reported');
    const [a] = srv().attemptsFor(FAULT_MODELS.ok);
    assert.equal(a?.stream, true, 'streaming was requested');
    assert.equal(a?.format, format);
  });

  test(`${format}: non-streamed success — a whole JSON body is accepted`, async () => {
    const deltas: string[] = [];
    const r = await run(
      provider(),
      { model: FAULT_MODELS.jsonOnly, prompt: 'hello there' },
      { onDelta: (d) => deltas.push(d) },
    );
    assert.equal(r.text, FIXED_ANSWER);
    assert.equal(deltas.join(''), FIXED_ANSWER);
    assert.deepEqual(r.usage, { promptTokens: 2, completionTokens: FIXED_TOKENS.length });
    assert.equal(srv().attemptsFor(FAULT_MODELS.jsonOnly)[0]?.action, 'whole');
  });

  test(`${format}: success without an onDelta listener`, async () => {
    const r = await run(provider(), { model: FAULT_MODELS.ok, prompt: 'hi' });
    assert.equal(r.text, FIXED_ANSWER);
  });

  test(`${format}: 429 with a retry hint → rate_limited with retryAfterMs 2000`, async () => {
    const e = await fails(provider(), { model: FAULT_MODELS.rateLimitOnce2s, prompt: 'hi' }, 'rate_limited');
    assert.equal(e.status, 429);
    assert.equal(e.retryAfterMs, 2000);
    const r = await run(provider(), { model: FAULT_MODELS.rateLimitOnce2s, prompt: 'hi' });
    assert.equal(r.text, FIXED_ANSWER, 'healthy after the one 429');
  });

  test(`${format}: 429 without any hint → rate_limited, no retryAfterMs`, async () => {
    const e = await fails(provider(), { model: FAULT_MODELS.rateLimitAlways, prompt: 'hi' }, 'rate_limited');
    assert.equal(e.retryAfterMs, undefined);
  });

  test(`${format}: bad key → auth, saying how to set the key, never quoting it`, async () => {
    const e = await fails(provider(), { model: FAULT_MODELS.unauthorized, prompt: 'hi' }, 'auth');
    assert.match(e.message, /setSecret/);
    assert.match(e.message, /TEST_API_KEY/);
    assert.ok(!e.message.includes(TEST_KEY));
    const wrong = await fails(
      provider('plainwrongkey-QWERTY-98765'),
      { model: requireKeyModel('right-key-123'), prompt: 'hi' },
      'auth',
    );
    assert.ok(!wrong.message.includes('plainwrongkey-QWERTY-98765'), wrong.message);
    const r = await run(provider('right-key-123'), { model: requireKeyModel('right-key-123'), prompt: 'hi' });
    assert.equal(r.text, FIXED_ANSWER, 'the key reaches the server');
  });

  test(`${format}: context length exceeded → context_overflow`, async () => {
    const e = await fails(provider(), { model: FAULT_MODELS.contextLength, prompt: 'hi' }, 'context_overflow');
    assert.match(e.message, new RegExp(String(FAULT_CONTEXT_LENGTH)));
  });

  test(`${format}: content filter → content_filter with the provider's reason`, async () => {
    const e = await fails(provider(), { model: FAULT_MODELS.contentFilter, prompt: 'hi' }, 'content_filter');
    assert.ok(e.message.includes(CONTENT_FILTER_REASON), e.message);
  });

  test(`${format}: 500 once, 503, 529 → server_error; the 500 is not sticky`, async () => {
    const e500 = await fails(provider(), { model: FAULT_MODELS.error500Once, prompt: 'hi' }, 'server_error');
    assert.equal(e500.status, 500);
    assert.equal((await run(provider(), { model: FAULT_MODELS.error500Once, prompt: 'hi' })).text, FIXED_ANSWER);
    assert.equal(
      (await fails(provider(), { model: FAULT_MODELS.error503Always, prompt: 'hi' }, 'server_error')).status,
      503,
    );
    await fails(provider(), { model: FAULT_MODELS.overloaded, prompt: 'hi' }, 'server_error');
  });

  test(`${format}: unknown model → model_missing`, async () => {
    await fails(provider(), { model: 'no-such-model', prompt: 'hi' }, 'model_missing');
  });

  test(`${format}: connection reset before headers → network`, async () => {
    const e = await fails(provider(), { model: FAULT_MODELS.resetOnce, prompt: 'hi' }, 'network');
    assert.equal(srv().attemptsFor(FAULT_MODELS.resetOnce).length, 1, 'the provider itself never retries');
    assert.match(e.message, /before a response/);
  });

  test(`${format}: stream cut after 40 tokens → stream_interrupted, never the partial text`, async () => {
    const deltas: string[] = [];
    const e = await fails(provider(), { model: FAULT_MODELS.cutAfter40, prompt: 'hi' }, 'stream_interrupted', {
      onDelta: (d) => deltas.push(d),
    });
    assert.equal(deltas.length, 40, 'the 40 tokens were streamed before the cut');
    assert.match(e.message, /without a finish/);
  });

  test(`${format}: malformed chunk → stream_interrupted`, async () => {
    await fails(provider(), { model: FAULT_MODELS.malformedChunk, prompt: 'hi' }, 'stream_interrupted');
  });

  test(`${format}: finished stream without an end marker resolves; a lingering body does not delay it`, async () => {
    assert.equal((await run(provider(), { model: FAULT_MODELS.noDone, prompt: 'hi' })).text, FIXED_ANSWER);
    const t0 = Date.now();
    const r = await run(provider(), { model: FAULT_MODELS.noDoneHang, prompt: 'hi' });
    assert.equal(r.text, FIXED_ANSWER);
    assert.equal(r.usage.completionTokens, FIXED_TOKENS.length);
    assert.ok(Date.now() - t0 < 1000, `finalised in ${Date.now() - t0} ms though the body stays open 30 s`);
  });

  test(`${format}: abort mid-stream (stalled) → cancelled promptly`, async () => {
    const ac = new AbortController();
    let seen = 0;
    let abortedAt = 0;
    const p = run(
      provider(),
      { model: FAULT_MODELS.stallAfter10, prompt: 'hi' },
      {
        signal: ac.signal,
        onDelta: () => {
          if (++seen === 10) setTimeout(() => ((abortedAt = Date.now()), ac.abort()), 50);
        },
      },
    );
    const e = await p.then(
      () => assert.fail('resolved'),
      (err: unknown) => err,
    );
    assert.ok(isProviderError(e) && e.kind === 'cancelled', String(e));
    assert.equal(seen, 10);
    assert.ok(Date.now() - abortedAt < ABORT_BUDGET_MS, `rejected ${Date.now() - abortedAt} ms after abort`);
  });

  test(`${format}: abort before the first token and on a silent server → cancelled promptly`, async () => {
    for (const model of [FAULT_MODELS.slowFirstToken20s, FAULT_MODELS.silent]) {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      const t0 = Date.now();
      await fails(provider(), { model, prompt: 'hi' }, 'cancelled', { signal: ac.signal });
      assert.ok(Date.now() - t0 < 100 + ABORT_BUDGET_MS, `${model}: ${Date.now() - t0} ms`);
    }
  });

  test(`${format}: an abort reason that is a ProviderError is kept (the engine's timeout verdict)`, async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new ProviderError('timeout', 'no first token within 100 ms')), 100);
    await fails(provider(), { model: FAULT_MODELS.silent, prompt: 'hi' }, 'timeout', { signal: ac.signal });
  });

  test(`${format}: connection refused → network`, async () => {
    const port = await closedPort();
    const p = createCloudProvider(config(`http://127.0.0.1:${port}`), { getApiKey: () => TEST_KEY });
    const e = await fails(p, { model: FAULT_MODELS.ok, prompt: 'hi' }, 'network');
    assert.match(e.message, /refused/);
    const le = await p.listModels?.(AbortSignal.timeout(5000)).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(isProviderError(le) && le.kind === 'network', String(le));
    errors.push(le);
  });

  test(`${format}: listModels reports every fault model with its context length`, async () => {
    const models = await provider().listModels?.(AbortSignal.timeout(5000));
    assert.ok(models !== undefined);
    assert.deepEqual(models.map((m) => m.name).sort(), Object.values(FAULT_MODELS).sort());
    assert.equal(models.find((m) => m.name === FAULT_MODELS.okBigContext)?.contextLength, BIG_CONTEXT_LENGTH);
    assert.equal(models.find((m) => m.name === FAULT_MODELS.ok)?.contextLength, FAULT_CONTEXT_LENGTH);
  });

  return env;
}

/** Register last in a file: the key must appear in no error thrown by any test before it. */
export function noKeyInErrors(env: ContractEnv): void {
  test('the API key appears in no error message, stack or cause', () => {
    assert.ok(env.errors.length >= 15, `collected ${env.errors.length} errors`);
    for (const e of env.errors) {
      const err = e as Error;
      const text = [err.message, err.stack, String(err.cause ?? ''), JSON.stringify(e)].join('\n');
      assert.ok(!text.includes(TEST_KEY), `key leaked in: ${err.message}`);
      assert.ok(!text.includes('plainwrongkey-QWERTY-98765'), `wrong key leaked in: ${err.message}`);
    }
  });
}

/** A port nothing listens on: bind, note the port, close. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
