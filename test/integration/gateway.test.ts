// The OpenAI-compatible gateway through the BUILT daemon (node esbuild.mjs → dist/cli.js) against
// the loopback fault server: request-carried chains, the official openai client, both
// gateway.streamFailover modes with a stream cut mid-answer, /v1/completions, and the error statuses.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { FAULT_MODELS, FIXED_ANSWER, type FaultServer, startFaultServer } from '../fixtures/faultServer';
import { faultConfig, type GatewayDaemon, startGatewayDaemon } from '../helpers/gatewayDaemon';
interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

interface SseEvent {
  data: string;
  json?: Record<string, unknown>;
}

/** Read a whole SSE response; `[DONE]` stays a raw data string. */
async function readSse(r: Response): Promise<SseEvent[]> {
  const text = await r.text();
  const out: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    if (data === '') continue;
    out.push(data === '[DONE]' ? { data } : { data, json: JSON.parse(data) as Record<string, unknown> });
  }
  return out;
}

/** Concatenate the text of chat (`delta.content`) or completion (`text`) chunks. */
function sseText(events: SseEvent[]): string {
  let s = '';
  for (const e of events) {
    const choices = (e.json?.choices ?? []) as { delta?: { content?: string }; text?: string }[];
    for (const c of choices) s += c.delta?.content ?? c.text ?? '';
  }
  return s;
}

let fault: FaultServer;
before(async () => {
  fault = await startFaultServer();
});
after(async () => {
  await fault.close();
});

let n = 0;
/** A fault model with its own state, e.g. "error-503-always+g3"; `id` prefixes the provider. */
const tag = (m: string) => `${m}+g${++n}`;
const id = (m: string) => `fault/${m}`;
const PROMPT = [{ role: 'user' as const, content: 'say the fixed answer' }];

describe('gateway: chains, the openai client, /v1/completions, client errors', { concurrency: false }, () => {
  const primary = tag(FAULT_MODELS.error503Always);
  const fallback = tag(FAULT_MODELS.ok);
  let d: GatewayDaemon;
  let client: OpenAI;
  before(async () => {
    d = await startGatewayDaemon(faultConfig(fault, { chain: [id(primary), id(fallback)] }));
    client = new OpenAI({ baseURL: `${d.base}/v1`, apiKey: d.token, maxRetries: 0 });
  });
  after(async () => {
    await d.stop();
  });

  it('"fallbacks" and "models" both fall back from a failing p/a to p/b; an empty "fallbacks" does not', async () => {
    for (const shape of ['fallbacks', 'models', 'none'] as const) {
      const a = tag(FAULT_MODELS.error503Always);
      const b = tag(FAULT_MODELS.ok);
      const body =
        shape === 'fallbacks'
          ? { model: id(a), fallbacks: [id(b)] }
          : shape === 'models'
            ? { models: [id(a), id(b)] }
            : { model: id(a), fallbacks: [] };
      const r = await d.post('/v1/chat/completions', { ...body, messages: PROMPT });
      const j = (await r.json()) as {
        model?: string;
        choices?: { message: { content: string } }[];
      } & Partial<OpenAiErrorBody>;
      assert.equal(fault.attemptsFor(a).length, 1, `${shape}: p/a attempted once`);
      if (shape === 'none') {
        assert.equal(r.status, 429, JSON.stringify(j));
        assert.match(j.error?.message ?? '', /No model in the chain could answer/);
        assert.equal(fault.attemptsFor(b).length, 0, 'no fallback was tried');
        assert.equal(
          fault.attempts.some((x) => x.model === fallback),
          false,
          'the configured chain was not appended',
        );
      } else {
        assert.equal(r.status, 200, JSON.stringify(j));
        assert.equal(j.model, id(b));
        assert.equal(j.choices?.[0]?.message.content, FIXED_ANSWER);
        assert.equal(r.headers.get('x-backstop-fallback'), `${id(a)} -> ${id(b)}`);
      }
    }
  });

  it('openai client, plain chat through a chain whose primary returns 503: whole answer, model, usage', async () => {
    const before503 = fault.attemptsFor(primary).length;
    const r = await client.chat.completions.create({ model: 'backstop', messages: PROMPT });
    assert.equal(r.choices[0]?.message.content, FIXED_ANSWER);
    assert.equal(r.model, id(fallback));
    assert.equal(r.usage?.completion_tokens, 60);
    assert.ok((r.usage?.prompt_tokens ?? 0) > 0);
    assert.equal(r.usage?.total_tokens, (r.usage?.prompt_tokens ?? 0) + 60);
    assert.equal(fault.attemptsFor(primary).length, before503 + 1, 'the 503 primary was tried first');
  });

  it('openai client, streamed chat (with and without include_usage): whole answer, model, usage, headers', async () => {
    for (const includeUsage of [true, false]) {
      const { data: stream, response } = await client.chat.completions
        .create({
          model: 'backstop',
          messages: PROMPT,
          stream: true,
          ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
        })
        .withResponse();
      let text = '';
      const models = new Set<string>();
      let usage: OpenAI.CompletionUsage | undefined;
      let finish: string | null = null;
      let emptyChoices = 0;
      for await (const c of stream) {
        if (c.choices.length === 0) emptyChoices++;
        models.add(c.model);
        text += c.choices[0]?.delta.content ?? '';
        finish = c.choices[0]?.finish_reason ?? finish;
        if (c.usage) usage = c.usage;
      }
      assert.equal(text, FIXED_ANSWER);
      assert.deepEqual([...models], [id(fallback)]);
      assert.equal(finish, 'stop');
      assert.equal(usage?.completion_tokens, 60, `usage with include_usage=${includeUsage}`);
      assert.equal(
        emptyChoices,
        includeUsage ? 1 : 0,
        'a choices-less usage chunk only when asked for, as OpenAI does',
      );
      assert.equal(response.headers.get('x-backstop-model'), id(fallback));
      assert.equal(response.headers.get('x-backstop-fallback'), `${id(primary)} -> ${id(fallback)}`);
      assert.equal(response.headers.get('x-backstop-attempts'), '2');
    }
  });

  it('openai client: a wrong token is a 401 AuthenticationError; /v1/models lists backstop and the chain', async () => {
    const bad = new OpenAI({ baseURL: `${d.base}/v1`, apiKey: 'not-the-token', maxRetries: 0 });
    await assert.rejects(bad.chat.completions.create({ model: 'backstop', messages: PROMPT }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.AuthenticationError, String(e));
      assert.equal(e.status, 401);
      assert.match(e.message, /bearer token/);
      return true;
    });
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    for (const want of ['backstop', id(primary), id(fallback), id(FAULT_MODELS.ok)])
      assert.ok(ids.includes(want), `${want} in ${ids.join(', ')}`);
    assert.equal(new Set(ids).size, ids.length, 'no duplicates');
  });

  it('/v1/completions, plain and streamed, through the 503 primary', async () => {
    const plain = await client.completions.create({ model: 'backstop', prompt: 'say the fixed answer' });
    assert.equal(plain.choices[0]?.text, FIXED_ANSWER);
    assert.equal(plain.model, id(fallback));
    assert.equal(plain.usage?.completion_tokens, 60);
    // With a suffix (fill-in-the-middle) the provider is asked on its own /v1/completions.
    const stream = await client.completions.create({ model: 'backstop', prompt: 'def f(', suffix: '\n', stream: true });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.text ?? '';
      if (c.usage) usage = c.usage;
    }
    assert.equal(text, FIXED_ANSWER);
    assert.equal(usage?.completion_tokens, 60);
    const last = fault.attempts.at(-1);
    assert.equal(last?.path, '/v1/completions', 'a FIM completion reached the provider as one');
    assert.equal(last?.body.suffix, '\n');
  });

  it('a <provider>/<name> that discovery never listed is passed through to the provider', async () => {
    const unlisted = tag(FAULT_MODELS.ok);
    const r = await d.post('/v1/chat/completions', { model: id(unlisted), messages: PROMPT });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { model: string }).model, id(unlisted));
    assert.equal(r.headers.get('x-backstop-fallback'), 'none');
    assert.equal(r.headers.get('x-backstop-attempts'), '1');
    assert.equal(fault.attemptsFor(unlisted).length, 1);
  });

  it('errors in OpenAI format: 400 invalid body naming the field, 400 unknown provider, 401, 403 foreign Origin', async () => {
    const expectError = async (
      r: Response,
      status: number,
      match: RegExp,
      extra: Partial<OpenAiErrorBody['error']> = {},
    ) => {
      assert.equal(r.status, status);
      const j = (await r.json()) as OpenAiErrorBody;
      assert.equal(typeof j.error.type, 'string');
      assert.match(j.error.message, match);
      for (const [k, v] of Object.entries(extra)) assert.equal(j.error[k as keyof OpenAiErrorBody['error']], v, k);
    };
    await expectError(await d.post('/v1/chat/completions', { model: 'backstop', messages: [] }), 400, /messages/, {
      param: 'messages',
      type: 'invalid_request_error',
    });
    await expectError(
      await d.post('/v1/chat/completions', { model: 'backstop', messages: PROMPT, temperature: 7 }),
      400,
      /temperature/,
      { param: 'temperature' },
    );
    await expectError(await d.post('/v1/completions', { model: 'backstop' }), 400, /prompt/, { param: 'prompt' });
    await expectError(await d.post('/v1/chat/completions', { messages: PROMPT }), 400, /model is required/, {
      param: 'model',
    });
    await expectError(
      await d.post('/v1/chat/completions', { model: 'backstop', messages: PROMPT, n: 2 }),
      400,
      /n must be 1/,
      { param: 'n' },
    );
    await expectError(await d.post('/v1/chat/completions', '{"model":'), 400, /JSON|invalid request body/, {
      code: 'invalid_body',
    });
    await expectError(
      await d.post('/v1/chat/completions', { model: 'nope/x', messages: PROMPT }),
      400,
      /unknown model "nope\/x".*"fault"/,
      { param: 'model', code: 'model_not_found' },
    );
    await expectError(
      await d.post('/v1/chat/completions', { model: 'backstop', messages: PROMPT }, { authorization: 'Bearer wrong' }),
      401,
      /wrong bearer token/,
      { code: 'invalid_api_key' },
    );
    await expectError(await fetch(`${d.base}/v1/models`), 401, /missing bearer token/);
    await expectError(
      await d.post('/v1/chat/completions', { model: 'backstop', messages: PROMPT }, { origin: 'https://evil.example' }),
      403,
      /origin .* is not allowed/,
      { type: 'permission_error' },
    );
  });

  it('a chain whose every model rejects the request itself is a 400 (not a 429 to retry forever)', async () => {
    const r = await d.post('/v1/chat/completions', {
      model: id(tag(FAULT_MODELS.contextLength)),
      fallbacks: [],
      messages: PROMPT,
    });
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('retry-after'), null);
    const j = (await r.json()) as OpenAiErrorBody;
    assert.equal(j.error.code, 'context_length_exceeded');
    assert.equal(j.error.type, 'invalid_request_error');
  });

  it('null optional fields (as several clients send them) are accepted', async () => {
    const r = await d.post('/v1/chat/completions', {
      model: id(fallback),
      messages: PROMPT,
      max_tokens: null,
      temperature: null,
      stop: null,
      stream: false,
    });
    assert.equal(r.status, 200, await r.clone().text());
  });
});

describe(
  'gateway.streamFailover with a primary whose stream is cut after 40 of 60 tokens',
  { concurrency: false },
  () => {
    let d: GatewayDaemon;
    before(async () => {
      d = await startGatewayDaemon(faultConfig(fault, { gateway: { streamFailover: 'buffer' } }));
    });
    after(async () => {
      await d.stop();
    });
    const cutChain = () => ({
      models: [id(tag(FAULT_MODELS.cutAfter40)), id(tag(FAULT_MODELS.ok))],
      model: 'backstop',
    });

    it("buffer: the fallback's whole answer, never the 40 tokens, then [DONE]", async () => {
      const body = cutChain();
      const r = await d.post('/v1/chat/completions', { ...body, messages: PROMPT, stream: true });
      assert.equal(r.status, 200);
      const events = await readSse(r);
      assert.equal(sseText(events), FIXED_ANSWER);
      assert.equal(events.at(-1)?.data, '[DONE]');
      assert.ok(events.every((e) => e.json?.error === undefined));
      assert.equal(r.headers.get('x-backstop-model'), body.models[1]);
      assert.equal(fault.attemptsFor(body.models[0]!.slice(6))[0]?.action, 'stream-cut');
    });

    it('error: streams at once, then an explicit error event and no [DONE]', async () => {
      const cfg = await d.rpc<{ gateway: { streamFailover: string } }>('backstop/setConfig', {
        gateway: { streamFailover: 'error' },
      });
      assert.equal(cfg.gateway.streamFailover, 'error');
      const body = cutChain();
      const r = await d.post('/v1/chat/completions', { ...body, messages: PROMPT, stream: true });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-backstop-model'), body.models[0], 'headers name the model that started streaming');
      const events = await readSse(r);
      assert.ok(
        events.every((e) => e.data !== '[DONE]'),
        'no [DONE] after a broken stream',
      );
      const last = events.at(-1)?.json as Partial<OpenAiErrorBody> | undefined;
      assert.equal(last?.error?.code, 'stream_interrupted');
      assert.match(last?.error?.message ?? '', /retry/);
      const text = sseText(events);
      assert.ok(
        text.length > 0 && FIXED_ANSWER.startsWith(text) && text !== FIXED_ANSWER,
        `partial text streamed before the error: ${text.length} chars`,
      );
    });

    it('error: the openai client raises the error event instead of returning a cut answer', async () => {
      const client = new OpenAI({ baseURL: `${d.base}/v1`, apiKey: d.token, maxRetries: 0 });
      const stream = await client.chat.completions.create({
        ...cutChain(),
        messages: PROMPT,
        stream: true,
      } as OpenAI.ChatCompletionCreateParamsStreaming);
      let text = '';
      await assert.rejects(
        async () => {
          for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
        },
        (e: unknown) => e instanceof OpenAI.APIError && /stream/.test(e.message),
      );
      assert.notEqual(text, FIXED_ANSWER);
    });

    it('error: when the attempt that sent content dies, the stream ends at once with an error event, not [DONE]', async () => {
      const r = await d.post('/v1/chat/completions', {
        models: [id(tag(FAULT_MODELS.cutAfter40)), id(tag(FAULT_MODELS.error503Always))],
        messages: PROMPT,
        stream: true,
      });
      const events = await readSse(r);
      assert.ok(events.every((e) => e.data !== '[DONE]'));
      const last = events.at(-1)?.json as Partial<OpenAiErrorBody> | undefined;
      // ended as soon as the attempt died, before the (failing) next model was even asked
      assert.equal(last?.error?.code, 'stream_interrupted');
      assert.ok(sseText(events).length > 0, 'the partial answer was streamed first');
    });

    it('error: a healthy stream still ends with [DONE] and the whole answer', async () => {
      const r = await d.post('/v1/completions', {
        model: id(tag(FAULT_MODELS.ok)),
        fallbacks: [],
        prompt: 'x',
        stream: true,
      });
      const events = await readSse(r);
      assert.equal(sseText(events), FIXED_ANSWER);
      assert.equal(events.at(-1)?.data, '[DONE]');
    });
  },
);

describe('gateway: exhausted chain (429 Retry-After) and request deadline (504)', { concurrency: false }, () => {
  let d: GatewayDaemon;
  before(async () => {
    d = await startGatewayDaemon(
      faultConfig(fault, {
        requestTimeoutMs: 1500,
        firstTokenTimeoutMs: 5000,
        circuit: { failureThreshold: 1, cooldownMs: 30_000 },
      }),
    );
  });
  after(async () => {
    await d.stop();
  });

  it('every circuit open: 429 with Retry-After, plain and streamed', async () => {
    const models = [id(tag(FAULT_MODELS.error503Always)), id(tag(FAULT_MODELS.error503Always))];
    for (const stream of [false, false, true]) {
      const r = await d.post('/v1/chat/completions', { model: 'backstop', models, messages: PROMPT, stream });
      assert.equal(r.status, 429);
      const retryAfterS = Number(r.headers.get('retry-after'));
      assert.ok(retryAfterS >= 1 && retryAfterS <= 30, `Retry-After ${r.headers.get('retry-after')}`);
      const j = (await r.json()) as OpenAiErrorBody;
      assert.equal(j.error.type, 'rate_limit_error');
      assert.equal(j.error.code, 'exhausted');
    }
    for (const m of models) assert.equal(fault.attemptsFor(m.slice(6)).length, 1, 'open circuits are not called again');
  });

  it('the whole request passes requestTimeoutMs: 504, plain and streamed', async () => {
    for (const stream of [false, true]) {
      const t0 = Date.now();
      const r = await d.post('/v1/chat/completions', {
        model: id(tag(FAULT_MODELS.silent)),
        fallbacks: [],
        messages: PROMPT,
        stream,
      });
      assert.equal(r.status, 504);
      const j = (await r.json()) as OpenAiErrorBody;
      assert.equal(j.error.code, 'timeout');
      assert.match(j.error.message, /deadline/);
      assert.ok(Date.now() - t0 < 4000, `answered after ${Date.now() - t0} ms`);
    }
  });
});
