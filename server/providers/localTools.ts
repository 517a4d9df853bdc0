// Tool calling on local GGUF models, the pure half: OpenAI-style messages and tools become
// node-llama-cpp's chat history and function definitions, and a client's JSON Schema becomes the
// subset llama.cpp's grammar compiler accepts. The worker (localWorker.ts) runs the result.
import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelFunctions, GbnfJsonSchema } from 'node-llama-cpp';
import type { ChatMessage, Tool, ToolChoice } from '../../protocol/types';
import { messageText } from '../../protocol/messages';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPrimitive = (v: unknown): v is string | number | boolean | null =>
  v === null || ['string', 'number', 'boolean'].includes(typeof v);

const BASIC = ['string', 'number', 'integer', 'boolean', 'null'] as const;
type Basic = (typeof BASIC)[number];
const isBasic = (t: unknown): t is Basic => BASIC.includes(t as Basic);

/** Any JSON value: what a schema the grammar compiler cannot express falls back to. */
export const ANY_JSON: GbnfJsonSchema = {
  oneOf: [{ type: [...BASIC] }, { type: 'object', additionalProperties: true }, { type: 'array' }],
};

const MAX_DEPTH = 32;

/**
 * The part of a JSON Schema llama.cpp's JSON grammar understands (types, properties, required,
 * items, enum/const, oneOf/anyOf, string lengths and date formats, local `$defs` references).
 * Keywords it cannot enforce (`minimum`, `pattern`, `default`, …) are dropped: the model is then
 * constrained less, never refused. Never throws, whatever the input.
 */
export function toGbnfSchema(schema: unknown, depth = 0): GbnfJsonSchema {
  if (!isObj(schema) || depth > MAX_DEPTH) return ANY_JSON;
  const description = typeof schema.description === 'string' ? { description: schema.description } : {};
  const defs = isObj(schema.$defs) ? schema.$defs : isObj(schema.definitions) ? schema.definitions : undefined;
  const withDefs = <T extends object>(s: T): T =>
    defs && depth === 0
      ? {
          ...s,
          $defs: Object.fromEntries(Object.entries(defs).map(([k, v]) => [k, toGbnfSchema(v, depth + 1)])),
        }
      : s;

  if (typeof schema.$ref === 'string') {
    const m = /^#\/(?:\$defs|definitions)\/([^/]+)$/.exec(schema.$ref);
    return m ? withDefs({ $ref: `#/$defs/${m[1]}`, ...description } as GbnfJsonSchema) : ANY_JSON;
  }
  if ('const' in schema && isPrimitive(schema.const)) return { const: schema.const, ...description };
  if (Array.isArray(schema.enum)) {
    const values = schema.enum.filter(isPrimitive);
    if (values.length) return { enum: values, ...description };
  }
  const alternatives = Array.isArray(schema.oneOf) ? schema.oneOf : Array.isArray(schema.anyOf) ? schema.anyOf : null;
  if (alternatives?.length)
    return withDefs({ oneOf: alternatives.map((s) => toGbnfSchema(s, depth + 1)), ...description });
  if (Array.isArray(schema.allOf) && schema.allOf.length === 1) return toGbnfSchema(schema.allOf[0], depth);

  const types = (Array.isArray(schema.type) ? schema.type : [schema.type]).filter((t) => typeof t === 'string');
  if (types.length > 1) {
    const basic = types.filter(isBasic);
    const rest = types.filter((t) => t === 'object' || t === 'array');
    if (!rest.length && basic.length) return { type: basic, ...description };
    return { oneOf: types.map((t) => toGbnfSchema({ ...schema, type: t }, depth + 1)), ...description };
  }
  const type = types[0] ?? (isObj(schema.properties) ? 'object' : isObj(schema.items) ? 'array' : undefined);
  const num = (k: string) =>
    typeof schema[k] === 'number' && Number.isInteger(schema[k]) && (schema[k] as number) >= 0
      ? { [k]: schema[k] as number }
      : {};
  switch (type) {
    case 'object': {
      const props = isObj(schema.properties) ? schema.properties : {};
      const names = Object.keys(props);
      const required = Array.isArray(schema.required)
        ? schema.required.filter((r): r is string => typeof r === 'string' && names.includes(r))
        : [];
      const additional =
        schema.additionalProperties === false
          ? false
          : isObj(schema.additionalProperties)
            ? toGbnfSchema(schema.additionalProperties, depth + 1)
            : names.length === 0;
      return withDefs({
        type: 'object',
        properties: Object.fromEntries(names.map((k) => [k, toGbnfSchema(props[k], depth + 1)])),
        required,
        additionalProperties: additional,
        ...description,
      });
    }
    case 'array':
      return withDefs({
        type: 'array',
        ...(schema.items !== undefined && isObj(schema.items) ? { items: toGbnfSchema(schema.items, depth + 1) } : {}),
        ...num('minItems'),
        ...num('maxItems'),
        ...description,
      });
    case 'string':
      if (schema.format === 'date-time' || schema.format === 'date' || schema.format === 'time')
        return { type: 'string', format: schema.format, ...description };
      return { type: 'string', ...num('minLength'), ...num('maxLength'), ...description };
    default:
      return isBasic(type) ? { type, ...description } : ANY_JSON;
  }
}

/** The request's tools as node-llama-cpp functions (none when the caller said `tool_choice: "none"`). */
export function toFunctions(tools: Tool[] | undefined, choice: ToolChoice | undefined): ChatModelFunctions | undefined {
  if (!tools?.length || choice === 'none') return undefined;
  const only = typeof choice === 'object' ? choice.name : undefined;
  const out: Record<string, { description?: string; params?: GbnfJsonSchema }> = {};
  for (const t of tools) {
    if (only !== undefined && t.name !== only) continue;
    out[t.name] = {
      ...(t.description ? { description: t.description } : {}),
      ...(t.parameters && Object.keys(t.parameters).length ? { params: toGbnfSchema(t.parameters) } : {}),
    };
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * When the caller requires a tool call (`"required"` or a named tool), the answer is forced by a
 * grammar: one JSON object `{ "name": …, "arguments": … }` whose arguments match that tool's schema.
 * Returns undefined when the model may answer in text.
 */
export function forcedCallSchema(
  tools: Tool[] | undefined,
  choice: ToolChoice | undefined,
): GbnfJsonSchema | undefined {
  if (!tools?.length || choice === undefined || choice === 'auto' || choice === 'none') return undefined;
  const pick = typeof choice === 'object' ? tools.filter((t) => t.name === choice.name) : tools;
  if (!pick.length) return undefined;
  const one = (t: Tool): GbnfJsonSchema => ({
    type: 'object',
    properties: {
      name: { const: t.name },
      arguments: t.parameters && Object.keys(t.parameters).length ? toGbnfSchema(t.parameters) : ANY_JSON,
    },
    required: ['name', 'arguments'],
    additionalProperties: false,
  });
  return pick.length === 1 ? one(pick[0]!) : { oneOf: pick.map(one) };
}

function parseArgs(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * OpenAI-style messages as node-llama-cpp's chat history: an assistant turn's tool calls become
 * function calls in the model's response, each with the result of the `tool` message that answers
 * it (a tool result with no matching call becomes a user turn that says what it is). A history
 * that ends in tool results ends in a model response, which the model then continues.
 */
export function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const out: ChatHistoryItem[] = [];
  const calls = new Map<string, ChatModelFunctionCall>();
  for (const m of messages) {
    switch (m.role) {
      case 'system':
        out.push({ type: 'system', text: m.content });
        break;
      case 'user':
        out.push({ type: 'user', text: messageText(m) });
        break;
      case 'assistant': {
        const response: (string | ChatModelFunctionCall)[] = m.content ? [m.content] : [];
        for (const c of m.toolCalls ?? []) {
          const call: ChatModelFunctionCall = {
            type: 'functionCall',
            name: c.name,
            params: parseArgs(c.arguments),
            result: undefined,
          };
          calls.set(c.id, call);
          response.push(call);
        }
        out.push({ type: 'model', response });
        break;
      }
      case 'tool': {
        const call = calls.get(m.toolCallId);
        if (call && call.result === undefined) call.result = parseArgs(m.content);
        else out.push({ type: 'user', text: `Result of tool call ${m.toolCallId}:\n${m.content}` });
        break;
      }
    }
  }
  // A call the caller never answered still needs a result for the chat template.
  for (const c of calls.values()) if (c.result === undefined) c.result = '(no result)';
  return out;
}
