// Real clients against the gateway, with the request shapes those tools send: the official
// @anthropic-ai/sdk on /v1/messages (served by an OpenAI-compatible upstream), the Vercel `ai` SDK with
// tools through its OpenAI-compatible provider, a tool call whose primary 503s answered by an Anthropic
// upstream (translated both ways), and a three-round agent loop whose primary fails mid-loop.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { jsonSchema, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { FAULT_MODELS, FIXED_ANSWER, type FaultServer, startFaultServer } from '../fixtures/faultServer';
import { TOOL_ARGUMENTS, TOOL_FINAL_ANSWER } from '../fixtures/faultTools';
import { faultConfig, type GatewayDaemon, startGatewayDaemon } from '../helpers/gatewayDaemon';

const WEATHER_INPUT = {
  type: 'object' as const,
  properties: { q: { type: 'string' as const } },
  required: ['q'],
};
type StreamParams = Parameters<OpenAI['chat']['completions']['stream']>[0];

describe('gateway: real clients', () => {
  let fault: FaultServer;
  let d: GatewayDaemon;
  before(async () => {
    // The Anthropic provider needs a key; the fault server accepts any.
    process.env.BACKSTOP_TEST_ANTHROPIC_KEY = 'sk-ant-test-key';
    fault = await startFaultServer();
    d = await startGatewayDaemon(
      faultConfig(fault, {
        providers: [
          { id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1` },
          // The same fault server, spoken to in Anthropic's wire format.
          { id: 'claude', type: 'anthropic', baseUrl: fault.url, apiKeyEnv: 'BACKSTOP_TEST_ANTHROPIC_KEY' },
        ],
        chain: ['fault/tool-caller'],
        // A down model is retried once, then the chain moves on.
        maxRetries: 1,
      }),
    );
  });
  after(async () => {
    await d.stop();
    await fault.close();
  });

  it('@anthropic-ai/sdk: a streamed answer on /v1/messages, served by an OpenAI-compatible upstream', async () => {
    const client = new Anthropic({ baseURL: d.base, apiKey: d.token, maxRetries: 0 });
    const stream = client.messages.stream({
      model: `fault/${FAULT_MODELS.ok}`,
      max_tokens: 128,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'Say the fixed answer' }],
    });
    let text = '';
    stream.on('text', (t) => (text += t));
    const final = await stream.finalMessage();
    assert.equal(text, FIXED_ANSWER);
    assert.equal(final.stop_reason, 'end_turn');
    assert.equal(final.model, `fault/${FAULT_MODELS.ok}`);
    assert.equal(final.usage.output_tokens, 60);
    const sent = fault.attemptsFor(FAULT_MODELS.ok).at(-1)?.body.messages as { role: string }[];
    assert.deepEqual(
      sent.map((m) => m.role),
      ['system', 'user'],
      'the system prompt reached the OpenAI upstream as a system message',
    );
  });

  it('@anthropic-ai/sdk: a tool_use round trip (streamed call, tool_result back, final text)', async () => {
    const client = new Anthropic({ baseURL: d.base, apiKey: d.token, maxRetries: 0 });
    const tools: Anthropic.Tool[] = [{ name: 'get_weather', description: 'The weather', input_schema: WEATHER_INPUT }];
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Weather in Porto?' }];
    const first = await client.messages.stream({ model: 'backstop', max_tokens: 256, messages, tools }).finalMessage();
    assert.equal(first.stop_reason, 'tool_use');
    const use = first.content.find((b) => b.type === 'tool_use');
    assert.ok(use && use.type === 'tool_use', JSON.stringify(first.content));
    assert.equal(use.name, 'get_weather');
    assert.deepEqual(use.input, JSON.parse(TOOL_ARGUMENTS));
    messages.push({ role: 'assistant', content: first.content });
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'rain, 14 °C' }] });
    const second = await client.messages.create({ model: 'backstop', max_tokens: 256, messages, tools });
    const text = second.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    assert.equal(text, `${TOOL_FINAL_ANSWER} rain, 14 °C`);
    // The OpenAI upstream saw the round trip in its own shape.
    const history = fault.attemptsFor(FAULT_MODELS.toolCaller).at(-1)?.body.messages as Record<string, unknown>[];
    assert.deepEqual(
      history.map((m) => m.role),
      ['user', 'assistant', 'tool'],
    );
    assert.equal(history[2]?.tool_call_id, use.id);
  });

  it('x-api-key is accepted (Claude Code), GET /v1/models answers in Anthropic shape, errors in Anthropic format', async () => {
    const models = await fetch(`${d.base}/v1/models`, {
      headers: { 'x-api-key': d.token, 'anthropic-version': '2023-06-01' },
    });
    assert.equal(models.status, 200);
    const list = (await models.json()) as { data: { type: string; id: string }[]; has_more: boolean };
    assert.equal(list.data[0]?.id, 'backstop');
    assert.equal(list.data[0]?.type, 'model');
    assert.equal(list.has_more, false);
    const bad = await fetch(`${d.base}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': d.token, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'backstop', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(bad.status, 400);
    const err = (await bad.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(err.type, 'error');
    assert.equal(err.error.type, 'invalid_request_error');
    assert.match(err.error.message, /max_tokens/);
    const wrongKey = await fetch(`${d.base}/v1/models`, {
      headers: { 'x-api-key': 'nope', 'anthropic-version': '2023-06-01' },
    });
    assert.equal(wrongKey.status, 401);
  });

  it('the Vercel ai SDK: streamText with a tool runs the tool and finishes with the answer', async () => {
    const provider = createOpenAICompatible({ name: 'backstop', baseURL: `${d.base}/v1`, apiKey: d.token });
    let toolRan = 0;
    const result = streamText({
      model: provider('backstop'),
      prompt: 'Weather in Faro?',
      tools: {
        get_weather: tool({
          description: 'The weather in a city',
          inputSchema: jsonSchema<{ q: string }>(WEATHER_INPUT),
          execute: async ({ q }) => {
            toolRan++;
            return `windy in ${q}`;
          },
        }),
      },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    const text = await result.text;
    assert.equal(toolRan, 1);
    assert.match(text, new RegExp(`^${TOOL_FINAL_ANSWER}`));
    assert.match(text, /windy in fault/);
  });

  it('a tool call whose primary 503s is answered by an Anthropic upstream, translated both ways', async () => {
    const client = new OpenAI({ baseURL: `${d.base}/v1`, apiKey: d.token, maxRetries: 0 });
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', parameters: WEATHER_INPUT } },
    ];
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather?' }];
    const chain = [`fault/${FAULT_MODELS.error503Always}`, 'claude/tool-caller+x'];
    const first = await client.chat.completions
      .stream({ model: chain[0]!, messages, tools, models: chain } as StreamParams)
      .finalChatCompletion();
    const call = first.choices[0]?.message.tool_calls?.[0];
    assert.equal(first.model, 'claude/tool-caller+x');
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), JSON.parse(TOOL_ARGUMENTS));
    const anthropicBody = fault.attemptsFor('tool-caller+x').at(-1)?.body as {
      tools: { name: string; input_schema: unknown }[];
    };
    assert.equal(anthropicBody.tools[0]?.name, 'get_weather', 'the OpenAI tool reached Anthropic as a tool');
    assert.deepEqual(anthropicBody.tools[0]?.input_schema, WEATHER_INPUT);

    messages.push(first.choices[0]!.message as OpenAI.Chat.Completions.ChatCompletionMessageParam);
    messages.push({ role: 'tool', tool_call_id: call.id, content: 'fog' });
    const second = await client.chat.completions.create({
      model: chain[0]!,
      messages,
      tools,
      models: chain,
    } as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming);
    assert.equal(second.choices[0]?.message.content, `${TOOL_FINAL_ANSWER} fog`);
    const history = fault.attemptsFor('tool-caller+x').at(-1)?.body.messages as { role: string; content: unknown }[];
    const blocks = history.flatMap((m) => (Array.isArray(m.content) ? (m.content as { type: string }[]) : []));
    assert.ok(
      blocks.some((b) => b.type === 'tool_use'),
      'the assistant tool call went to Anthropic as tool_use',
    );
    assert.ok(
      blocks.some((b) => b.type === 'tool_result'),
      'the tool result went to Anthropic as tool_result',
    );
  });

  it('parameters an upstream API cannot carry are named in x-backstop-ignored-params, never silently lost', async () => {
    const client = new OpenAI({ baseURL: `${d.base}/v1`, apiKey: d.token, maxRetries: 0 });
    const body = {
      model: 'claude/ok+ignored',
      messages: [{ role: 'user' as const, content: 'hi' }],
      seed: 7,
      presence_penalty: 0.5,
      top_p: 0.9,
      user: 'dev-1',
    };
    const { data, response } = await client.chat.completions.create(body).withResponse();
    assert.equal(data.model, 'claude/ok+ignored');
    assert.equal(response.headers.get('x-backstop-ignored-params'), 'seed,presence_penalty');
    const sent = fault.attemptsFor('ok+ignored').at(-1)?.body ?? {};
    assert.equal(sent.top_p, 0.9, 'what Anthropic has is carried');
    assert.deepEqual(sent.metadata, { user_id: 'dev-1' });
    assert.ok(!('seed' in sent) && !('presence_penalty' in sent), JSON.stringify(sent));
    // The same request on an OpenAI-compatible upstream carries everything: no header.
    const same = await client.chat.completions.create({ ...body, model: `fault/${FAULT_MODELS.ok}` }).withResponse();
    assert.equal(same.response.headers.get('x-backstop-ignored-params'), null);
  });

  it('an agent loop of three tool rounds completes while the primary fails mid-loop', async () => {
    const client = new OpenAI({ baseURL: `${d.base}/v1`, apiKey: d.token, maxRetries: 0 });
    const primary = 'fault/tool-caller~rounds-3~fail-after-2';
    const fallback = 'claude/tool-caller~rounds-3';
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'lookup', parameters: WEATHER_INPUT } },
    ];
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Plan a trip' }];
    const servedBy: string[] = [];
    for (let round = 0; round < 6; round++) {
      const r = await client.chat.completions
        .stream({ model: primary, fallbacks: [fallback], messages, tools } as StreamParams)
        .finalChatCompletion();
      servedBy.push(r.model);
      const msg = r.choices[0]!.message;
      const calls = msg.tool_calls ?? [];
      if (!calls.length) {
        assert.equal(msg.content, `${TOOL_FINAL_ANSWER} result ${round}`);
        break;
      }
      messages.push(msg as OpenAI.Chat.Completions.ChatCompletionMessageParam);
      for (const c of calls) messages.push({ role: 'tool', tool_call_id: c.id, content: `result ${round + 1}` });
    }
    assert.deepEqual(servedBy, [primary, primary, fallback, fallback], servedBy.join(', '));
    const ids = messages.flatMap((m) => (m.role === 'tool' ? [m.tool_call_id] : []));
    assert.equal(new Set(ids).size, 3, 'three distinct tool calls');
  });
});
