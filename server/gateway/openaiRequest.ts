// The OpenAI request shapes the gateway accepts — the whole Chat Completions surface as agents send it
// (tools, tool results, images, response_format, sampling fields) and legacy text completions — and
// their translation into CompleteParams. Fields Backstop does not know are kept in `extra` and reach
// OpenAI-compatible upstreams unchanged.
import * as z from 'zod';
import type { ChatMessage, CompleteParams, ContentPart } from '../../protocol/types';

// Clients send `null` for "not set" (max_tokens: null, stop: null, …): accept it as absent.
const stopSchema = z.union([z.string(), z.array(z.string()).max(16)]).nullish();
const modelList = z.array(z.string().min(1)).nullish();
const MAX_TOKENS = 131_072;

const common = {
  // Optional when `models` is given (OpenRouter's convention); checked in requireModel below.
  model: z.string().min(1, 'model is required ("backstop" means the configured chain)').optional(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: z.number().int().positive().max(MAX_TOKENS).nullish(),
  max_completion_tokens: z.number().int().positive().max(MAX_TOKENS).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logit_bias: z.record(z.string(), z.number().min(-100).max(100)).nullish(),
  user: z.string().max(256).nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  n: z.number().int().min(1).max(1, 'Backstop returns one choice per request: n must be 1').nullish(),
  stop: stopSchema,
  models: modelList,
  fallbacks: modelList,
};

const requireModel = (
  b: { model?: string | undefined; models?: string[] | null | undefined },
  ctx: z.RefinementCtx,
) => {
  if (b.model === undefined && !b.models?.length)
    ctx.addIssue({
      code: 'custom',
      path: ['model'],
      message: 'model is required ("backstop" means the configured chain), or give the whole chain in "models"',
    });
};

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const imagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.union([
    z.string().min(1),
    z.object({ url: z.string().min(1), detail: z.enum(['auto', 'low', 'high']).nullish() }),
  ]),
});
/** A user content part: text or an image; other types (audio, files) are refused saying so. */
const userPart = z
  .looseObject({ type: z.string() })
  .transform((p, ctx): z.infer<typeof textPart> | z.infer<typeof imagePart> => {
    const schema = p.type === 'text' ? textPart : p.type === 'image_url' ? imagePart : undefined;
    if (!schema) {
      ctx.addIssue({
        code: 'custom',
        message: `content parts of type "${p.type}" are not supported: Backstop carries text and image_url parts`,
      });
      return z.NEVER;
    }
    const r = schema.safeParse(p);
    if (!r.success) {
      for (const i of r.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
      return z.NEVER;
    }
    return r.data;
  });
const textOnly = z.union([
  z.string(),
  z.array(z.union([textPart, z.object({ type: z.literal('refusal'), refusal: z.string() })])),
]);

const toolCall = z.object({
  id: z.string().min(1),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const message = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: textOnly, name: z.string().nullish() }),
  z.object({ role: z.literal('developer'), content: textOnly, name: z.string().nullish() }),
  z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(userPart)]), name: z.string().nullish() }),
  z.object({
    role: z.literal('assistant'),
    content: textOnly.nullish(),
    tool_calls: z.array(toolCall).nullish(),
    refusal: z.string().nullish(),
    name: z.string().nullish(),
  }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string().min(1), content: textOnly }),
]);

const tool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a tool name is 1–64 letters, digits, "_", "." or "-"'),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  }),
});

const toolChoice = z.union([
  z.enum(['auto', 'none', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string().min(1) }) }),
]);

const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string().min(1).max(64),
      schema: z.record(z.string(), z.unknown()).nullish(),
      strict: z.boolean().nullish(),
      description: z.string().nullish(),
    }),
  }),
]);

export const chatSchema = z
  .looseObject({
    ...common,
    messages: z.array(message).min(1, 'messages must hold at least one message'),
    tools: z.array(tool).max(128).nullish(),
    tool_choice: toolChoice.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    response_format: responseFormat.nullish(),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.number().int().min(0).max(20).nullish(),
  })
  .superRefine(requireModel);

export const completionSchema = z
  .looseObject({
    ...common,
    prompt: z.union([z.string(), z.array(z.string()).length(1)]),
    suffix: z.string().nullish(),
    logprobs: z.number().int().min(0).max(5).nullish(),
  })
  .superRefine(requireModel);

export type ChatRequest = z.infer<typeof chatSchema>;
export type CompletionRequest = z.infer<typeof completionSchema>;

/** The keys the gateway understands (everything else goes to `extra`). */
const KNOWN = new Set([
  ...Object.keys(common),
  'messages',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'response_format',
  'logprobs',
  'top_logprobs',
  'prompt',
  'suffix',
  // Routing and streaming are the gateway's own business, never an upstream's.
  'stream',
  'stream_options',
]);

const text = (c: z.infer<typeof textOnly> | null | undefined): string =>
  c == null ? '' : typeof c === 'string' ? c : c.map((p) => ('text' in p ? p.text : p.refusal)).join('');

function toMessage(m: z.infer<typeof message>): ChatMessage {
  switch (m.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: text(m.content) };
    case 'tool':
      return { role: 'tool', toolCallId: m.tool_call_id, content: text(m.content) };
    case 'assistant': {
      const calls = (m.tool_calls ?? []).map((c) => ({
        id: c.id,
        name: c.function.name,
        arguments: c.function.arguments,
      }));
      return { role: 'assistant', content: text(m.content), ...(calls.length ? { toolCalls: calls } : {}) };
    }
    case 'user':
      if (typeof m.content === 'string') return { role: 'user', content: m.content };
      return {
        role: 'user',
        content: m.content.map((p): ContentPart => {
          if (p.type === 'text') return { type: 'text', text: p.text };
          const img = p.image_url;
          const url = typeof img === 'string' ? img : img.url;
          const detail = typeof img === 'string' ? undefined : (img.detail ?? undefined);
          return { type: 'image', url, ...(detail ? { detail } : {}) };
        }),
      };
  }
}

function extraOf(body: Record<string, unknown>): Record<string, unknown> | undefined {
  const extra = Object.fromEntries(Object.entries(body).filter(([k, v]) => !KNOWN.has(k) && v !== undefined));
  return Object.keys(extra).length ? extra : undefined;
}

/** Sampling and bookkeeping fields shared by both endpoints. */
function commonParams(body: ChatRequest | CompletionRequest): Partial<CompleteParams> {
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const extra = extraOf(body);
  return {
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    ...(body.temperature != null ? { temperature: body.temperature } : {}),
    ...(body.stop != null ? { stop: typeof body.stop === 'string' ? [body.stop] : body.stop } : {}),
    ...(body.top_p != null ? { topP: body.top_p } : {}),
    ...(body.seed != null ? { seed: body.seed } : {}),
    ...(body.presence_penalty != null ? { presencePenalty: body.presence_penalty } : {}),
    ...(body.frequency_penalty != null ? { frequencyPenalty: body.frequency_penalty } : {}),
    ...(body.logit_bias != null ? { logitBias: body.logit_bias } : {}),
    ...(body.user != null ? { user: body.user } : {}),
    ...(body.metadata != null ? { metadata: body.metadata } : {}),
    ...(extra ? { extra } : {}),
  };
}

export function chatParams(body: ChatRequest, chain: string[]): CompleteParams {
  const rf = body.response_format;
  return {
    chain,
    purpose: 'gateway',
    ...commonParams(body),
    messages: body.messages.map(toMessage),
    ...(body.tools?.length
      ? {
          tools: body.tools.map((t) => ({
            name: t.function.name,
            ...(t.function.description != null ? { description: t.function.description } : {}),
            ...(t.function.parameters != null ? { parameters: t.function.parameters } : {}),
            ...(t.function.strict != null ? { strict: t.function.strict } : {}),
          })),
        }
      : {}),
    ...(body.tool_choice != null
      ? {
          toolChoice:
            typeof body.tool_choice === 'string' ? body.tool_choice : { name: body.tool_choice.function.name },
        }
      : {}),
    ...(body.parallel_tool_calls != null ? { parallelToolCalls: body.parallel_tool_calls } : {}),
    ...(rf != null
      ? {
          responseFormat:
            rf.type === 'json_schema'
              ? {
                  type: 'json_schema',
                  name: rf.json_schema.name,
                  schema: rf.json_schema.schema ?? {},
                  ...(rf.json_schema.strict != null ? { strict: rf.json_schema.strict } : {}),
                }
              : { type: rf.type },
        }
      : {}),
    ...(body.logprobs != null ? { logprobs: body.logprobs } : {}),
    ...(body.top_logprobs != null ? { topLogprobs: body.top_logprobs } : {}),
  };
}

export function completionParams(body: CompletionRequest, chain: string[]): CompleteParams {
  return {
    chain,
    purpose: 'gateway',
    ...commonParams(body),
    textCompletion: true,
    prompt: Array.isArray(body.prompt) ? (body.prompt[0] ?? '') : body.prompt,
    ...(body.suffix != null ? { suffix: body.suffix } : {}),
    ...(body.logprobs != null ? { logprobs: true, topLogprobs: body.logprobs } : {}),
  };
}

interface Issue {
  code?: string;
  path: PropertyKey[];
  message: string;
  errors?: Issue[][];
}

/**
 * The issue to tell the client about: inside a union ("a string or an array of parts"), the most
 * specific issue of the branch that got furthest, with its full path — not "Invalid input".
 */
export function explainIssue(issues: readonly Issue[]): { path: string; message: string } {
  const pick = (i: Issue, prefix: PropertyKey[]): { path: PropertyKey[]; message: string } => {
    const here = [...prefix, ...i.path];
    if (i.code !== 'invalid_union' || !i.errors?.length) return { path: here, message: i.message };
    let best: { path: PropertyKey[]; message: string } | undefined;
    for (const branch of i.errors) {
      const first = branch[0];
      if (!first) continue;
      const cand = pick(first, here);
      if (!best || cand.path.length > best.path.length) best = cand;
    }
    return best ?? { path: here, message: i.message };
  };
  const first = issues[0];
  if (!first) return { path: 'body', message: 'invalid' };
  const r = pick(first, []);
  return { path: r.path.map(String).join('.') || 'body', message: r.message };
}
