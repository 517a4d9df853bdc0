// Anthropic Messages API: `POST /v1/messages` with SSE (message_start → content_block_delta… →
// message_delta {stop_reason, usage} → message_stop) or one JSON body, `x-api-key` +
// `anthropic-version` headers, `/v1/models` for discovery. Tools ↔ tool_use / tool_result blocks,
// images as base64 or URL sources; no structured output (refused before the call); fill-in-the-middle
// in chat form. `overloaded_error` (HTTP 529) is a retryable server error.
import type { GenerateOptions, GenerateRequest, GenerateResult, Provider, ProviderModel } from '../core/types';
import { ProviderError } from '../core/types';
import type { ChatMessage, ContentPart, Tool, ToolChoice } from '../../protocol/types';
import { isRecord } from './errorBody';
import type { CloudContext, ErrorContext } from './http';
import { classifyErrorPayload, getJson, joinUrl, requireKey } from './http';
import type { EmitToolCall, StreamState, WireDecoder } from './stream';
import { streamGeneration } from './stream';
import { fimInChatForm, imageSource, toolArguments } from './translate';

export const ANTHROPIC_DEFAULT_VERSION = '2023-06-01';
/** The Messages API requires max_tokens; used when the caller sets none. */
const DEFAULT_MAX_TOKENS = 4096;
/** Discovery pages (of up to 1000 models) before we stop following `has_more`. */
const MAX_MODEL_PAGES = 10;

export class AnthropicProvider implements Provider {
  /** The Messages API has no seed, penalties, logit bias, log probabilities or free-form metadata (`user` is sent). */
  readonly ignores = [
    'seed',
    'presencePenalty',
    'frequencyPenalty',
    'logitBias',
    'logprobs',
    'topLogprobs',
    'metadata',
  ] as const;
  readonly type = 'anthropic' as const;
  readonly kind = 'cloud' as const;
  readonly id: string;

  constructor(private readonly ctx: CloudContext) {
    this.id = ctx.id;
  }

  async generate(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult> {
    // Editor completions: the Messages API has no fill-in-the-middle, so they go in chat form.
    if (req.suffix !== undefined && req.prompt !== undefined)
      return fimInChatForm(req, opts, (r, o) => this.call(r, o));
    return this.call(req, opts);
  }

  private async call(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult> {
    const ec = this.ctx.errorContext(req.model);
    const stream = req.stream !== false;
    const body = anthropicBody(ec, req, stream);
    return streamGeneration(
      ec,
      { url: joinUrl(this.ctx.baseUrl, 'v1/messages'), headers: this.headers(req.model, stream), body },
      opts.signal,
      anthropicDecoder(ec),
      { onDelta: opts.onDelta, onToolCallDelta: opts.onToolCallDelta },
    );
  }

  async listModels(signal: AbortSignal): Promise<ProviderModel[]> {
    const out: ProviderModel[] = [];
    let after: string | undefined;
    for (let page = 0; page < MAX_MODEL_PAGES; page++) {
      const query = `v1/models?limit=1000${after === undefined ? '' : `&after_id=${encodeURIComponent(after)}`}`;
      const json = await getJson(this.ctx.errorContext(), joinUrl(this.ctx.baseUrl, query), this.headers(), signal);
      const data = isRecord(json) && Array.isArray(json.data) ? json.data.filter(isRecord) : [];
      for (const m of data) {
        if (typeof m.id !== 'string') continue;
        const ctxLen = m.max_input_tokens ?? m.context_window;
        out.push({ name: m.id, ...(typeof ctxLen === 'number' && ctxLen > 0 ? { contextLength: ctxLen } : {}) });
      }
      if (!isRecord(json) || json.has_more !== true || typeof json.last_id !== 'string') break;
      after = json.last_id;
    }
    return out;
  }

  private headers(model?: string, stream = false): Record<string, string> {
    const key = requireKey(this.ctx, model);
    return {
      accept: stream ? 'text/event-stream' : 'application/json',
      ...this.ctx.headers,
      'x-api-key': key,
      'anthropic-version': this.ctx.anthropicVersion ?? ANTHROPIC_DEFAULT_VERSION,
    };
  }
}

/** The Messages API request: system hoisted, tools and tool turns as content blocks, images as sources. */
export function anthropicBody(ec: ErrorContext, req: GenerateRequest, stream: boolean): Record<string, unknown> {
  const rf = req.responseFormat;
  // The engine skips Anthropic models for structured output by capability; this is the safety net.
  if (rf !== undefined && rf.type !== 'text')
    throw new ProviderError(
      'unsupported',
      `${ec.label}: the Anthropic Messages API lacks structured output (response_format ${rf.type}); use a model with JSON mode`,
    );
  const messages: ChatMessage[] = req.messages ?? [{ role: 'user', content: req.prompt ?? '' }];
  const system = messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join('\n\n');
  const tools = req.tools?.length ? req.tools : undefined;
  const toolChoice = tools === undefined ? undefined : anthropicToolChoice(req.toolChoice, req.parallelToolCalls);
  return {
    model: req.model,
    max_tokens: req.maxTokens ?? DEFAULT_MAX_TOKENS,
    messages: anthropicMessages(ec, messages),
    ...(system === '' ? {} : { system }),
    stream,
    ...(req.temperature === undefined ? {} : { temperature: req.temperature }),
    ...(req.topP === undefined ? {} : { top_p: req.topP }),
    ...(req.stop === undefined || req.stop.length === 0 ? {} : { stop_sequences: req.stop }),
    ...(tools === undefined ? {} : { tools: tools.map(anthropicTool) }),
    ...(toolChoice === undefined ? {} : { tool_choice: toolChoice }),
    ...(req.user === undefined ? {} : { metadata: { user_id: req.user } }),
  };
}

function anthropicTool(t: Tool): Record<string, unknown> {
  return {
    name: t.name,
    ...(t.description === undefined ? {} : { description: t.description }),
    // input_schema is required: a tool without parameters takes an empty object.
    input_schema: t.parameters ?? { type: 'object', properties: {} },
  };
}

function anthropicToolChoice(
  choice: ToolChoice | undefined,
  parallel: boolean | undefined,
): Record<string, unknown> | undefined {
  const noParallel = parallel === false ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined) return parallel === false ? { type: 'auto', ...noParallel } : undefined;
  if (choice === 'none') return { type: 'none' };
  if (choice === 'auto') return { type: 'auto', ...noParallel };
  if (choice === 'required') return { type: 'any', ...noParallel };
  return { type: 'tool', name: choice.name, ...noParallel };
}

type Block = Record<string, unknown>;
interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: string | Block[];
}

/**
 * Chat turns in Anthropic's terms. Tool results become `tool_result` blocks of a user turn; results
 * that follow each other (and a user turn right after them) share one user turn, as the API wants
 * the answers to one assistant turn's calls together.
 */
export function anthropicMessages(ec: ErrorContext, messages: readonly ChatMessage[]): AnthropicMessage[] {
  const out: AnthropicMessage[] = [];
  let toolTurn: Block[] | undefined;
  for (const m of messages) {
    switch (m.role) {
      case 'system':
        continue;
      case 'tool': {
        const block: Block = { type: 'tool_result', tool_use_id: m.toolCallId, content: m.content };
        if (toolTurn === undefined) {
          toolTurn = [block];
          out.push({ role: 'user', content: toolTurn });
        } else toolTurn.push(block);
        continue;
      }
      case 'user':
        if (toolTurn !== undefined) {
          toolTurn.push(...userBlocks(m.content));
          toolTurn = undefined;
          continue;
        }
        out.push({
          role: 'user',
          content: typeof m.content === 'string' ? m.content : userBlocks(m.content),
        });
        continue;
      case 'assistant':
        toolTurn = undefined;
        out.push(
          m.toolCalls?.length
            ? {
                role: 'assistant',
                content: [
                  ...(m.content === '' ? [] : [{ type: 'text', text: m.content }]),
                  ...m.toolCalls.map((c) => ({
                    type: 'tool_use',
                    id: c.id,
                    name: c.name,
                    input: toolArguments(ec, c),
                  })),
                ],
              }
            : { role: 'assistant', content: m.content },
        );
        continue;
    }
  }
  return out;
}

function userBlocks(content: string | readonly ContentPart[]): Block[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  return content.map((p) => {
    if (p.type === 'text') return { type: 'text', text: p.text };
    const src = imageSource(p.url);
    return {
      type: 'image',
      source:
        src.kind === 'data'
          ? { type: 'base64', media_type: src.mediaType, data: src.base64 }
          : { type: 'url', url: src.url },
    };
  });
}

const STOP_REASONS: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
};

export function anthropicDecoder(ec: ErrorContext): WireDecoder {
  let promptTokens = 0;
  /** Content block index → the ordinal of its tool_use block (the tool call's index). */
  const toolBlocks = new Map<number, { ordinal: number; args: boolean }>();
  const setFinish = (state: StreamState, reason: unknown): void => {
    if (typeof reason !== 'string' || reason === '') return;
    if (reason === 'refusal')
      throw new ProviderError(
        'content_filter',
        `${ec.label}: blocked by the content filter: the model refused (stop_reason "refusal")`,
      );
    state.finishReason = STOP_REASONS[reason] ?? reason;
  };
  const blockStart = (json: Record<string, unknown>, emitToolCall: EmitToolCall): void => {
    const b = isRecord(json.content_block) ? json.content_block : {};
    if (b.type !== 'tool_use' || typeof json.index !== 'number') return;
    const ordinal = toolBlocks.size;
    toolBlocks.set(json.index, { ordinal, args: false });
    emitToolCall({
      index: ordinal,
      ...(typeof b.id === 'string' ? { id: b.id } : {}),
      ...(typeof b.name === 'string' ? { name: b.name } : {}),
    });
  };
  return {
    framing: 'sse',
    onMessage(msg, state, emit, emitToolCall) {
      const json: unknown = JSON.parse(msg.data);
      if (!isRecord(json)) return;
      switch (json.type) {
        case 'message_start': {
          const usage = isRecord(json.message) && isRecord(json.message.usage) ? json.message.usage : {};
          if (typeof usage.input_tokens === 'number') promptTokens = usage.input_tokens;
          return;
        }
        case 'content_block_start':
          return blockStart(json, emitToolCall);
        case 'content_block_delta': {
          const d = isRecord(json.delta) ? json.delta : {};
          if (d.type === 'text_delta' && typeof d.text === 'string') emit(d.text);
          const tool = typeof json.index === 'number' ? toolBlocks.get(json.index) : undefined;
          if (d.type === 'input_json_delta' && tool !== undefined && typeof d.partial_json === 'string') {
            if (d.partial_json === '') return;
            tool.args = true;
            emitToolCall({ index: tool.ordinal, arguments: d.partial_json });
          }
          return;
        }
        case 'content_block_stop': {
          // A call without arguments streams no JSON at all: its arguments are the empty object.
          const tool = typeof json.index === 'number' ? toolBlocks.get(json.index) : undefined;
          if (tool !== undefined && !tool.args) {
            tool.args = true;
            emitToolCall({ index: tool.ordinal, arguments: '{}' });
          }
          return;
        }
        case 'message_delta': {
          if (isRecord(json.delta)) setFinish(state, json.delta.stop_reason);
          const u = isRecord(json.usage) ? json.usage : {};
          if (typeof u.output_tokens === 'number') {
            state.usage = {
              promptTokens: typeof u.input_tokens === 'number' ? u.input_tokens : promptTokens,
              completionTokens: u.output_tokens,
            };
          }
          return;
        }
        case 'message_stop':
          // message_stop is the end marker, but only a stop_reason makes the answer complete.
          if (state.finishReason !== undefined) state.ended = true;
          return;
        case 'error':
          throw classifyErrorPayload(ec, json);
        default:
          return; // ping, and event types added later
      }
    },
    whole(json) {
      if (!isRecord(json)) throw new SyntaxError('not an object');
      if (json.type === 'error') throw classifyErrorPayload(ec, json);
      const blocks = Array.isArray(json.content) ? json.content.filter(isRecord) : [];
      const text = blocks.map((b) => (b.type === 'text' && typeof b.text === 'string' ? b.text : '')).join('');
      const toolCalls = blocks
        .filter((b) => b.type === 'tool_use' && typeof b.name === 'string')
        .map((b, i) => ({
          id: typeof b.id === 'string' ? b.id : `call_${i}`,
          name: String(b.name),
          arguments: JSON.stringify(b.input ?? {}),
        }));
      const state: StreamState = { text, deltas: 0, ended: true };
      setFinish(state, json.stop_reason);
      const u = isRecord(json.usage) ? json.usage : {};
      const usage =
        typeof u.output_tokens === 'number'
          ? { promptTokens: typeof u.input_tokens === 'number' ? u.input_tokens : 0, completionTokens: u.output_tokens }
          : undefined;
      return {
        text,
        ...(state.finishReason === undefined ? {} : { finishReason: state.finishReason }),
        ...(usage === undefined ? {} : { usage }),
        ...(toolCalls.length ? { toolCalls } : {}),
      };
    },
  };
}
