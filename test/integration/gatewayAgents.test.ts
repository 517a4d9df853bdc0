// What agents send, through the gateway with the official openai SDK: streamed tool calls reassembled
// by the SDK and answered, images and response_format reaching the upstream unchanged, unknown fields
// passed through, plain requests going upstream unstreamed, and capability routing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { FAULT_MODELS, FIXED_ANSWER, type FaultServer, startFaultServer } from '../fixtures/faultServer';
import { TOOL_ARGUMENTS, TOOL_FINAL_ANSWER } from '../fixtures/faultTools';
import { faultConfig, type GatewayDaemon, startGatewayDaemon } from '../helpers/gatewayDaemon';

const WEATHER_TOOL: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
  },
};
/** A 1×1 PNG. */
const PNG_DATA_URL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

describe('gateway: agents through the openai SDK', () => {
  let fault: FaultServer;
  let d: GatewayDaemon;
  let client: OpenAI;
  before(async () => {
    fault = await startFaultServer();
    d = await startGatewayDaemon(
      faultConfig(fault, {
        providers: [
          {
            id: 'fault',
            type: 'openai-compatible',
            baseUrl: `${fault.url}/v1`,
            // A model that is known to take no tools (as text-only models are).
            modelInfo: { 'ok+notools': { capabilities: ['chat', 'completion'] } },
          },
        ],
        chain: ['fault/tool-caller'],
      }),
    );
    client = new OpenAI({ baseURL: `${d.base}/v1`, apiKey: d.token, maxRetries: 0 });
  });
  after(async () => {
    await d.stop();
    await fault.close();
  });

  it('a streamed tool call is reassembled by the SDK, the tool result goes back, the final answer quotes it', async () => {
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'What is the weather in Lisbon?' },
    ];
    const stream = client.chat.completions.stream({ model: 'backstop', messages, tools: [WEATHER_TOOL] });
    const first = await stream.finalChatCompletion();
    const choice = first.choices[0];
    assert.equal(choice?.finish_reason, 'tool_calls');
    const call = choice?.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function', JSON.stringify(choice?.message));
    assert.equal(call.function.name, 'get_weather');
    assert.equal(call.function.arguments, TOOL_ARGUMENTS);
    // What the upstream received: the tool in OpenAI's shape.
    const sent = fault.attempts.at(-1)?.body as { tools?: { function: { name: string } }[]; stream?: boolean };
    assert.equal(sent.tools?.[0]?.function.name, 'get_weather');
    assert.equal(sent.stream, true);

    messages.push(choice.message as OpenAI.Chat.Completions.ChatCompletionMessageParam);
    messages.push({ role: 'tool', tool_call_id: call.id, content: 'sunny, 21 °C' });
    const second = await client.chat.completions.create({ model: 'backstop', messages, tools: [WEATHER_TOOL] });
    assert.equal(second.choices[0]?.message.content, `${TOOL_FINAL_ANSWER} sunny, 21 °C`);
    const history = fault.attempts.at(-1)?.body.messages as {
      role: string;
      tool_call_id?: string;
      tool_calls?: unknown[];
    }[];
    assert.deepEqual(
      history.map((m) => m.role),
      ['user', 'assistant', 'tool'],
    );
    assert.equal(history[2]?.tool_call_id, call.id);
    assert.equal((history[1]?.tool_calls ?? []).length, 1);
  });

  it('a plain (non-streamed) request goes upstream non-streamed and returns tool_calls whole', async () => {
    const r = await client.chat.completions.create({
      model: 'backstop',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [WEATHER_TOOL],
      tool_choice: 'required',
    });
    assert.equal(r.choices[0]?.message.tool_calls?.[0]?.id, 'call_fault_1');
    const rec = fault.attempts.at(-1);
    assert.equal(rec?.stream, false, 'no stream upstream for a plain request');
    assert.equal(rec?.action, 'tool-call-whole');
    assert.equal(rec?.body.tool_choice, 'required');
  });

  it('an image part reaches the upstream byte for byte, with its detail', async () => {
    await client.chat.completions.create({
      model: `fault/${FAULT_MODELS.ok}`,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image_url', image_url: { url: PNG_DATA_URL, detail: 'low' } },
          ],
        },
      ],
    });
    const content = (fault.attemptsFor(FAULT_MODELS.ok).at(-1)?.body.messages as { content: unknown }[])[0]?.content;
    assert.deepEqual(content, [
      { type: 'text', text: 'What is in this picture?' },
      { type: 'image_url', image_url: { url: PNG_DATA_URL, detail: 'low' } },
    ]);
  });

  it('response_format json_schema, sampling fields and unknown fields reach the upstream unchanged', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    const r = await client.chat.completions.create({
      model: `fault/${FAULT_MODELS.jsonAnswer}`,
      messages: [{ role: 'user', content: 'answer in JSON' }],
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
      top_p: 0.5,
      seed: 7,
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
      user: 'u-1',
      // A field Backstop does not know: passed through as is.
      reasoning_effort: 'low',
    } as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming);
    assert.deepEqual(JSON.parse(r.choices[0]?.message.content ?? ''), { answer: 'tok01', ok: true });
    const body = fault.attemptsFor(FAULT_MODELS.jsonAnswer).at(-1)?.body ?? {};
    assert.deepEqual(body.response_format, {
      type: 'json_schema',
      json_schema: { name: 'answer', schema, strict: true },
    });
    assert.equal(body.top_p, 0.5);
    assert.equal(body.seed, 7);
    assert.equal(body.presence_penalty, 0.1);
    assert.equal(body.frequency_penalty, 0.2);
    assert.equal(body.user, 'u-1');
    assert.equal(body.reasoning_effort, 'low');
  });

  it('capability routing: a model without tools is skipped with its reason, the next one serves', async () => {
    const r = await d.post('/v1/chat/completions', {
      models: ['fault/ok+notools', 'fault/tool-caller'],
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [WEATHER_TOOL],
    });
    assert.equal(r.status, 200);
    const body = (await r.json()) as {
      model: string;
      backstop: { attempts: { model: string; outcome: string; failure?: string; message?: string }[] };
    };
    assert.equal(body.model, 'fault/tool-caller');
    const skipped = body.backstop.attempts[0];
    assert.equal(skipped?.model, 'fault/ok+notools');
    assert.equal(skipped?.outcome, 'skipped');
    assert.match(skipped?.message ?? '', /lacks tools/);
    assert.equal(fault.attemptsFor('ok+notools').length, 0, 'the skipped model was never called');
  });

  it('no model in the chain can serve the request: 400 naming the missing capability', async () => {
    const r = await d.post('/v1/chat/completions', {
      models: ['fault/ok+notools'],
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [WEATHER_TOOL],
    });
    assert.equal(r.status, 400);
    const body = (await r.json()) as { error: { message: string; code: string } };
    assert.equal(body.error.code, 'unsupported');
    assert.match(body.error.message, /tools/);
  });

  it('an unsupported content part type is a 400 that says what is carried', async () => {
    const r = await d.post('/v1/chat/completions', {
      model: 'backstop',
      messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }],
    });
    assert.equal(r.status, 400);
    const body = (await r.json()) as { error: { message: string } };
    assert.match(body.error.message, /input_audio.*text and image_url/);
  });

  it('plain text answers still stream as before (the same chain, no tools)', async () => {
    const stream = await client.chat.completions.create({
      model: `fault/${FAULT_MODELS.ok}`,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    assert.equal(text, FIXED_ANSWER);
  });
});
