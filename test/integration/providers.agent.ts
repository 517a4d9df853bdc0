// Shared pieces of the per-format agent tests (tools, tool results, images, structured output):
// one tool, one tool-call round trip against the fault server's `tool-caller`, one image.
import assert from 'node:assert/strict';
import type { GenerateRequest, GenerateResult, Provider } from '../../server/core/types';
import type { ChatMessage, Tool, ToolCallDelta } from '../../protocol/types';
import { FAULT_MODELS } from '../fixtures/faultServer';
import { TOOL_ARGUMENTS, TOOL_FINAL_ANSWER } from '../fixtures/faultTools';

export const LOOKUP_TOOL: Tool = {
  name: 'lookup',
  description: 'Look a word up',
  parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
};

export const QUESTION: ChatMessage = { role: 'user', content: 'look up "fault"' };
/** What the test's tool answers. */
export const TOOL_RESULT = '42 apples';

/** Bytes that are not valid UTF-8 (every value 0–255), so any re-encoding would show. */
export const IMAGE_BYTES = Buffer.from([0x89, 0x50, 0x4e, 0x47, ...Array.from({ length: 256 }, (_, i) => i)]);
export const IMAGE_DATA_URL = `data:image/png;base64,${IMAGE_BYTES.toString('base64')}`;

/** The ids Backstop gives tool calls that arrive without one (Gemini, Ollama). */
export const GENERATED_ID = /^call_0_[0-9a-f]{12}$/;

export interface Generated {
  result: GenerateResult;
  deltas: string[];
  toolDeltas: ToolCallDelta[];
}

/** generate() with both delta sinks recorded. */
export async function generate(p: Provider, req: GenerateRequest): Promise<Generated> {
  const deltas: string[] = [];
  const toolDeltas: ToolCallDelta[] = [];
  const result = await p.generate(req, {
    signal: AbortSignal.timeout(10_000),
    onDelta: (d) => deltas.push(d),
    onToolCallDelta: (d) => toolDeltas.push(d),
  });
  return { result, deltas, toolDeltas };
}

/**
 * The tool-caller's two turns: a call of `lookup` with {"q":"fault"} (its id is the upstream's),
 * then, with the call and its result in the history, text quoting the result.
 */
export async function toolRoundTrip(
  p: Provider,
  stream: boolean,
  /** The upstream's id, or the pattern of the id Backstop generates when the upstream gives none. */
  expectedId: string | RegExp,
): Promise<{ first: Generated; second: Generated; history: ChatMessage[]; id: string }> {
  const base = { model: FAULT_MODELS.toolCaller, tools: [LOOKUP_TOOL], stream };
  const first = await generate(p, { ...base, messages: [QUESTION] });
  assert.equal(first.result.finishReason, 'tool_calls');
  const id = first.result.toolCalls?.[0]?.id ?? '';
  if (typeof expectedId === 'string') assert.equal(id, expectedId);
  else assert.match(id, expectedId);
  assert.deepEqual(first.result.toolCalls, [{ id, name: 'lookup', arguments: TOOL_ARGUMENTS }]);
  assert.equal(first.result.text, '');
  // The pieces the caller saw add up to the same call: id and name first, then the argument text.
  assert.equal(first.toolDeltas[0]?.id, id);
  assert.equal(first.toolDeltas[0]?.name, 'lookup');
  assert.ok(first.toolDeltas.every((d) => d.index === 0));
  assert.equal(first.toolDeltas.map((d) => d.arguments ?? '').join(''), TOOL_ARGUMENTS);

  const history: ChatMessage[] = [
    QUESTION,
    { role: 'assistant', content: '', toolCalls: first.result.toolCalls ?? [] },
    { role: 'tool', toolCallId: id, content: TOOL_RESULT },
  ];
  const second = await generate(p, { ...base, messages: history });
  assert.equal(second.result.text, `${TOOL_FINAL_ANSWER} ${TOOL_RESULT}`);
  assert.equal(second.result.finishReason, 'stop');
  assert.equal(second.result.toolCalls, undefined);
  assert.equal(second.deltas.join(''), second.result.text);
  return { first, second, history, id };
}
