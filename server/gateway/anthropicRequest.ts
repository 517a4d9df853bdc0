// The Anthropic Messages request as Claude Code and the @anthropic-ai/sdk send it, and its translation
// into CompleteParams: system prompts, text and image blocks, tool_use / tool_result round trips,
// tool_choice, sampling fields. Whatever the chain's models speak, the answer comes back in this shape.
import * as z from 'zod';
import type { ChatMessage, CompleteParams, ContentPart, ToolChoice } from '../../protocol/types';

const MAX_TOKENS = 131_072;

const textBlock = z.looseObject({ type: z.literal('text'), text: z.string() });
const imageBlock = z.looseObject({
  type: z.literal('image'),
  source: z.discriminatedUnion('type', [
    z.object({ type: z.literal('base64'), media_type: z.string().min(1), data: z.string() }),
    z.object({ type: z.literal('url'), url: z.string().min(1) }),
  ]),
});
const toolUseBlock = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.unknown(),
});
const toolResultBlock = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(z.union([textBlock, imageBlock]))]).optional(),
  is_error: z.boolean().optional(),
});
/** Reasoning blocks a client hands back: not carried to other models (they cannot read them). */
const thinkingBlock = z.looseObject({ type: z.enum(['thinking', 'redacted_thinking']) });

type Block =
  | z.infer<typeof textBlock>
  | z.infer<typeof imageBlock>
  | z.infer<typeof toolUseBlock>
  | z.infer<typeof toolResultBlock>
  | z.infer<typeof thinkingBlock>;

const BLOCKS: Record<string, z.ZodType<Block>> = {
  text: textBlock,
  image: imageBlock,
  tool_use: toolUseBlock,
  tool_result: toolResultBlock,
  thinking: thinkingBlock,
  redacted_thinking: thinkingBlock,
};

/** One content block, checked by its type; unknown types (documents, server tools) are refused saying so. */
const block = z.looseObject({ type: z.string() }).transform((b, ctx): Block => {
  const schema = BLOCKS[b.type];
  if (!schema) {
    ctx.addIssue({
      code: 'custom',
      message: `content blocks of type "${b.type}" are not supported: Backstop carries text, image, tool_use and tool_result blocks`,
    });
    return z.NEVER;
  }
  const r = schema.safeParse(b);
  if (!r.success) {
    for (const i of r.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
    return z.NEVER;
  }
  return r.data;
});

const message = z.object({
  role: z.enum(['user', 'assistant']),
  content: z.union([z.string(), z.array(block)]),
});

const tool = z.looseObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a tool name is 1–64 letters, digits, "_", "." or "-"'),
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown()).optional(),
  type: z.string().optional(),
});

export const messagesSchema = z.looseObject({
  model: z.string().min(1, 'model is required ("backstop" means the configured chain)'),
  max_tokens: z.number().int().positive().max(MAX_TOKENS),
  messages: z.array(message).min(1, 'messages must hold at least one message'),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  tools: z.array(tool).max(128).optional(),
  tool_choice: z
    .object({
      type: z.enum(['auto', 'any', 'tool', 'none']),
      name: z.string().optional(),
      disable_parallel_tool_use: z.boolean().optional(),
    })
    .optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  stop_sequences: z.array(z.string()).max(16).optional(),
  metadata: z.looseObject({ user_id: z.string().optional() }).optional(),
});

export type MessagesRequest = z.infer<typeof messagesSchema>;

const dataUrl = (mediaType: string, data: string) => `data:${mediaType};base64,${data}`;

function imagePart(b: z.infer<typeof imageBlock>): ContentPart {
  return {
    type: 'image',
    url: b.source.type === 'base64' ? dataUrl(b.source.media_type, b.source.data) : b.source.url,
  };
}

function resultText(b: z.infer<typeof toolResultBlock>): string {
  const content = b.content ?? '';
  const text = typeof content === 'string' ? content : content.map((c) => (c.type === 'text' ? c.text : '')).join('');
  return b.is_error ? `Error: ${text}` : text;
}

/** One Anthropic message → internal messages (tool results become tool messages, in order). */
function toMessages(m: z.infer<typeof message>): ChatMessage[] {
  if (typeof m.content === 'string') return [{ role: m.role, content: m.content }];
  const blocks = m.content;
  if (m.role === 'assistant') {
    const text = blocks.map((b) => (b.type === 'text' ? b.text : '')).join('');
    const calls = blocks.flatMap((b) =>
      b.type === 'tool_use' ? [{ id: b.id, name: b.name, arguments: JSON.stringify(b.input ?? {}) }] : [],
    );
    return [{ role: 'assistant', content: text, ...(calls.length ? { toolCalls: calls } : {}) }];
  }
  const out: ChatMessage[] = [];
  const parts: ContentPart[] = [];
  for (const b of blocks) {
    if (b.type === 'tool_result') out.push({ role: 'tool', toolCallId: b.tool_use_id, content: resultText(b) });
    else if (b.type === 'text') parts.push({ type: 'text', text: b.text });
    else if (b.type === 'image') parts.push(imagePart(b));
  }
  if (parts.length)
    out.push({
      role: 'user',
      content: parts.every((p) => p.type === 'text') ? parts.map((p) => (p as { text: string }).text).join('') : parts,
    });
  return out;
}

function toolChoiceOf(c: NonNullable<MessagesRequest['tool_choice']>): ToolChoice | undefined {
  if (c.type === 'auto') return 'auto';
  if (c.type === 'any') return 'required';
  if (c.type === 'none') return 'none';
  return c.name ? { name: c.name } : 'required';
}

export function messagesParams(body: MessagesRequest, chain: string[]): CompleteParams {
  const system = typeof body.system === 'string' ? body.system : (body.system ?? []).map((b) => b.text).join('\n');
  const messages: ChatMessage[] = [
    ...(system ? [{ role: 'system' as const, content: system }] : []),
    ...body.messages.flatMap(toMessages),
  ];
  const choice = body.tool_choice ? toolChoiceOf(body.tool_choice) : undefined;
  return {
    chain,
    purpose: 'gateway',
    messages,
    maxTokens: body.max_tokens,
    ...(body.temperature !== undefined ? { temperature: body.temperature } : {}),
    ...(body.top_p !== undefined ? { topP: body.top_p } : {}),
    ...(body.stop_sequences?.length ? { stop: body.stop_sequences } : {}),
    ...(body.metadata?.user_id ? { user: body.metadata.user_id } : {}),
    // OpenAI-compatible servers (vLLM, llama.cpp) take top_k as is.
    ...(body.top_k !== undefined ? { extra: { top_k: body.top_k } } : {}),
    ...(body.tools?.length
      ? {
          tools: body.tools.map((t) => ({
            name: t.name,
            ...(t.description !== undefined ? { description: t.description } : {}),
            parameters: t.input_schema ?? { type: 'object', properties: {} },
          })),
        }
      : {}),
    ...(choice !== undefined ? { toolChoice: choice } : {}),
    ...(body.tool_choice?.disable_parallel_tool_use ? { parallelToolCalls: false } : {}),
  };
}

/** OpenAI-style finish reasons → Anthropic's stop_reason. */
export function stopReason(finish: string | undefined): string {
  if (finish === 'length') return 'max_tokens';
  if (finish === 'tool_calls') return 'tool_use';
  return 'end_turn';
}

/** A tool call's arguments as the `input` object Anthropic clients expect. */
export function toolInput(args: string): unknown {
  try {
    const v: unknown = JSON.parse(args || '{}');
    return typeof v === 'object' && v !== null ? v : { value: v };
  } catch {
    return { _raw: args };
  }
}
