// OpenAI-compatible wire format (OpenAI, OpenRouter, Groq, LM Studio, vLLM, llama.cpp server,
// Ollama's /v1): `/chat/completions` for chat, tools, images and structured output; `/completions`
// for fill-in-the-middle where the model is known to take it; SSE with `stream_options.include_usage`
// (or one JSON body when the caller asked for no stream); `/models` for discovery.
import { isProviderError, ProviderError } from '../core/types';
import type { GenerateOptions, GenerateRequest, GenerateResult, Provider, ProviderModel } from '../core/types';
import { messageText } from '../../protocol/messages';
import type { ChatMessage, ToolCall, Usage } from '../../protocol/types';
import { isRecord } from './errorBody';
import { cleanFimAnswer, fimChatMessages } from './fimChat';
import type { CloudContext, ErrorContext } from './http';
import { classifyErrorPayload, getJson, joinUrl, withAuth } from './http';
import type { EmitToolCall, StreamState, WireDecoder } from './stream';
import { streamGeneration } from './stream';

/** What a server says when it has no such route: a chat-only server asked for `/completions`. */
const NO_ROUTE_STATUSES: ReadonlySet<number> = new Set([404, 405]);

export class OpenAICompatibleProvider implements Provider {
  readonly type = 'openai-compatible' as const;
  readonly kind = 'cloud' as const;
  readonly id: string;
  /** Models that answered on `/completions` (fill-in-the-middle goes there for them). */
  private readonly completionsOk = new Set<string>();
  /** Models whose server has no `/completions` route: asked in chat form at once. */
  private readonly completionsMissing = new Set<string>();

  constructor(private readonly ctx: CloudContext) {
    this.id = ctx.id;
  }

  async generate(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult> {
    const caps = this.ctx.modelInfo[req.model]?.capabilities;
    if (req.suffix !== undefined && req.prompt !== undefined) return this.fillInTheMiddle(req, opts, caps);
    const completion =
      useCompletionsEndpoint(req, caps) ||
      (req.textCompletion === true && req.prompt !== undefined && !this.completionsMissing.has(req.model));
    if (!completion) return this.call(req, opts, false);
    const r = await this.viaCompletions(req, opts);
    return r ?? this.call(req, opts, false);
  }

  /**
   * The `/completions` endpoint; undefined when the server has no such route (404/405 before any
   * output), which is remembered and never counts against the model: the caller asks in chat form.
   */
  private async viaCompletions(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult | undefined> {
    let sent = false;
    try {
      const r = await this.call(req, { ...opts, onDelta: (d) => ((sent = true), opts.onDelta?.(d)) }, true);
      this.completionsOk.add(req.model);
      return r;
    } catch (e) {
      if (!(isProviderError(e) && e.status !== undefined && NO_ROUTE_STATUSES.has(e.status)) || sent) throw e;
      this.completionsMissing.add(req.model);
      this.completionsOk.delete(req.model);
      this.ctx.logger?.info(
        `${this.ctx.errorContext(req.model).label}: no /completions route (${e.status}): completions go through chat`,
      );
      return undefined;
    }
  }

  /**
   * Editor completions: `/completions` with a suffix when the model is known to take it, else (or when
   * the server has no such route) the same model in chat form — never a failure of the model.
   */
  private async fillInTheMiddle(
    req: GenerateRequest,
    opts: GenerateOptions,
    caps: readonly string[] | undefined,
  ): Promise<GenerateResult> {
    const prefix = req.prompt ?? '';
    const suffix = req.suffix ?? '';
    const native =
      (caps?.includes('fim') || this.completionsOk.has(req.model) || req.textCompletion === true) &&
      !this.completionsMissing.has(req.model);
    if (native) {
      const r = await this.viaCompletions(req, opts);
      if (r) return r;
    }
    const { suffix: _s, prompt: _p, ...rest } = req;
    const chat: GenerateRequest = { ...rest, messages: fimChatMessages(prefix, suffix) };
    // The answer is cleaned as a whole (fences, repeats), so it reaches the caller in one piece.
    const r = await this.call(chat, { signal: opts.signal }, false);
    const text = cleanFimAnswer(r.text, prefix, suffix);
    if (text !== '') opts.onDelta?.(text);
    return { ...r, text };
  }

  private call(req: GenerateRequest, opts: GenerateOptions, completion: boolean): Promise<GenerateResult> {
    const ec = this.ctx.errorContext(req.model);
    const stream = req.stream !== false;
    const body = completion ? completionBody(req, stream) : chatBody(req, stream);
    return streamGeneration(
      ec,
      {
        url: joinUrl(this.ctx.baseUrl, completion ? 'completions' : 'chat/completions'),
        headers: this.headers(stream),
        body,
      },
      opts.signal,
      openAiDecoder(ec, completion),
      { onDelta: opts.onDelta, onToolCallDelta: opts.onToolCallDelta },
    );
  }

  async listModels(signal: AbortSignal): Promise<ProviderModel[]> {
    const json = await getJson(
      this.ctx.errorContext(),
      joinUrl(this.ctx.baseUrl, 'models'),
      this.headers(false),
      signal,
    );
    const data = isRecord(json) && Array.isArray(json.data) ? json.data : [];
    const out: ProviderModel[] = [];
    for (const m of data) {
      if (!isRecord(m) || typeof m.id !== 'string') continue;
      const top = isRecord(m.top_provider) ? m.top_provider.context_length : undefined;
      // Each server names it differently: OpenRouter, vLLM, Groq, LM Studio.
      const ctxLen = [m.context_length, m.max_model_len, m.context_window, m.max_context_length, top].find(
        (v) => typeof v === 'number' && v > 0,
      );
      out.push({ name: m.id, ...(typeof ctxLen === 'number' ? { contextLength: ctxLen } : {}) });
    }
    return out;
  }

  private headers(stream: boolean): Record<string, string> {
    return {
      accept: stream ? 'text/event-stream' : 'application/json',
      ...withAuth(this.ctx, (key) => ({ authorization: `Bearer ${key}` })),
    };
  }
}

/** `/completions` when the model is configured as completion-only (and no chat is asked for). */
export function useCompletionsEndpoint(req: GenerateRequest, capabilities: readonly string[] | undefined): boolean {
  if (capabilities === undefined || req.messages !== undefined) return false;
  return !capabilities.includes('chat') && (capabilities.includes('completion') || capabilities.includes('fim'));
}

/** The sampling and bookkeeping fields both endpoints share, in OpenAI's names. */
function commonFields(req: GenerateRequest, stream: boolean): Record<string, unknown> {
  return {
    // Fields Backstop does not know go first: the known ones below are never overridden by them.
    ...(req.extra ?? {}),
    model: req.model,
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
    ...(req.maxTokens === undefined ? {} : { max_tokens: req.maxTokens }),
    ...(req.temperature === undefined ? {} : { temperature: req.temperature }),
    ...(req.stop === undefined || req.stop.length === 0 ? {} : { stop: req.stop }),
    ...(req.topP === undefined ? {} : { top_p: req.topP }),
    ...(req.seed === undefined ? {} : { seed: req.seed }),
    ...(req.presencePenalty === undefined ? {} : { presence_penalty: req.presencePenalty }),
    ...(req.frequencyPenalty === undefined ? {} : { frequency_penalty: req.frequencyPenalty }),
    ...(req.logitBias === undefined ? {} : { logit_bias: req.logitBias }),
    ...(req.user === undefined ? {} : { user: req.user }),
    ...(req.metadata === undefined ? {} : { metadata: req.metadata }),
  };
}

function completionBody(req: GenerateRequest, stream: boolean): Record<string, unknown> {
  return {
    ...commonFields(req, stream),
    prompt: req.prompt ?? (req.messages ?? []).map(messageText).join('\n\n'),
    ...(req.suffix === undefined ? {} : { suffix: req.suffix }),
    ...(req.logprobs && req.topLogprobs !== undefined ? { logprobs: req.topLogprobs } : {}),
  };
}

function chatBody(req: GenerateRequest, stream: boolean): Record<string, unknown> {
  const rf = req.responseFormat;
  return {
    ...commonFields(req, stream),
    messages: (req.messages ?? [{ role: 'user', content: req.prompt ?? '' }]).map(toOpenAiMessage),
    ...(req.tools?.length
      ? {
          tools: req.tools.map((t) => ({
            type: 'function',
            function: {
              name: t.name,
              ...(t.description === undefined ? {} : { description: t.description }),
              ...(t.parameters === undefined ? {} : { parameters: t.parameters }),
              ...(t.strict === undefined ? {} : { strict: t.strict }),
            },
          })),
        }
      : {}),
    ...(req.toolChoice === undefined
      ? {}
      : {
          tool_choice:
            typeof req.toolChoice === 'string'
              ? req.toolChoice
              : { type: 'function', function: { name: req.toolChoice.name } },
        }),
    ...(req.parallelToolCalls === undefined ? {} : { parallel_tool_calls: req.parallelToolCalls }),
    ...(rf === undefined
      ? {}
      : {
          response_format:
            rf.type === 'json_schema'
              ? {
                  type: 'json_schema',
                  json_schema: {
                    name: rf.name,
                    schema: rf.schema,
                    ...(rf.strict === undefined ? {} : { strict: rf.strict }),
                  },
                }
              : { type: rf.type },
        }),
    ...(req.logprobs === undefined ? {} : { logprobs: req.logprobs }),
    ...(req.topLogprobs === undefined ? {} : { top_logprobs: req.topLogprobs }),
  };
}

export function toOpenAiMessage(m: ChatMessage): Record<string, unknown> {
  switch (m.role) {
    case 'system':
      return { role: 'system', content: m.content };
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
    case 'assistant':
      return m.toolCalls?.length
        ? {
            role: 'assistant',
            content: m.content === '' ? null : m.content,
            tool_calls: m.toolCalls.map((c) => ({
              id: c.id,
              type: 'function',
              function: { name: c.name, arguments: c.arguments },
            })),
          }
        : { role: 'assistant', content: m.content };
    case 'user':
      return {
        role: 'user',
        content:
          typeof m.content === 'string'
            ? m.content
            : m.content.map((p) =>
                p.type === 'text'
                  ? { type: 'text', text: p.text }
                  : { type: 'image_url', image_url: { url: p.url, ...(p.detail ? { detail: p.detail } : {}) } },
              ),
      };
  }
}

function openAiDecoder(ec: ErrorContext, completion: boolean): WireDecoder {
  const textOf = (choice: Record<string, unknown>): string => {
    if (completion) return typeof choice.text === 'string' ? choice.text : '';
    const d = isRecord(choice.delta) ? choice.delta : isRecord(choice.message) ? choice.message : {};
    return typeof d.content === 'string' ? d.content : '';
  };
  return {
    framing: 'sse',
    onMessage(msg, state, emit, emitToolCall) {
      if (msg.data.trim() === '[DONE]') {
        state.ended = true;
        return;
      }
      const json: unknown = JSON.parse(msg.data);
      if (!isRecord(json)) return;
      if (json.error !== undefined && json.error !== null) throw classifyErrorPayload(ec, json);
      const choice = Array.isArray(json.choices)
        ? json.choices.find((c) => isRecord(c) && (c.index ?? 0) === 0)
        : undefined;
      if (isRecord(choice)) {
        emit(textOf(choice));
        if (isRecord(choice.delta)) toolCallDeltas(choice.delta.tool_calls, emitToolCall);
        appendLogprobs(state, choice.logprobs);
        if (typeof choice.finish_reason === 'string') setFinish(ec, state, choice.finish_reason);
      }
      const usage = usageOf(json.usage);
      if (usage !== undefined) state.usage = usage;
    },
    whole(json) {
      if (!isRecord(json)) throw new SyntaxError('not an object');
      if (json.error !== undefined && json.error !== null) throw classifyErrorPayload(ec, json);
      const choice = Array.isArray(json.choices) ? json.choices[0] : undefined;
      if (!isRecord(choice)) throw new ProviderError('stream_interrupted', `${ec.label}: the response has no choices`);
      const state: StreamState = { text: '', deltas: 0, ended: true };
      if (typeof choice.finish_reason === 'string') setFinish(ec, state, choice.finish_reason);
      const usage = usageOf(json.usage);
      const message = isRecord(choice.message) ? choice.message : {};
      const toolCalls = wholeToolCalls(message.tool_calls);
      return {
        text: textOf(choice),
        ...(state.finishReason === undefined ? {} : { finishReason: state.finishReason }),
        ...(usage === undefined ? {} : { usage }),
        ...(toolCalls.length ? { toolCalls } : {}),
        ...(choice.logprobs === undefined || choice.logprobs === null ? {} : { logprobs: choice.logprobs }),
      };
    },
  };
}

/** `delta.tool_calls` pieces: `{ index, id?, function: { name?, arguments? } }`. */
function toolCallDeltas(raw: unknown, emit: EmitToolCall): void {
  if (!Array.isArray(raw)) return;
  for (const [i, t] of raw.entries()) {
    if (!isRecord(t)) continue;
    const fn = isRecord(t.function) ? t.function : {};
    emit({
      index: typeof t.index === 'number' ? t.index : i,
      ...(typeof t.id === 'string' ? { id: t.id } : {}),
      ...(typeof fn.name === 'string' ? { name: fn.name } : {}),
      ...(typeof fn.arguments === 'string' && fn.arguments !== '' ? { arguments: fn.arguments } : {}),
    });
  }
}

function wholeToolCalls(raw: unknown): ToolCall[] {
  if (!Array.isArray(raw)) return [];
  const out: ToolCall[] = [];
  for (const t of raw) {
    if (!isRecord(t) || !isRecord(t.function) || typeof t.function.name !== 'string') continue;
    const args = t.function.arguments;
    out.push({
      id: typeof t.id === 'string' ? t.id : `call_${out.length}`,
      name: t.function.name,
      arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
    });
  }
  return out;
}

/** Streamed `logprobs.content` arrays, concatenated into one `{ content }` object. */
function appendLogprobs(state: StreamState, raw: unknown): void {
  if (!isRecord(raw) || !Array.isArray(raw.content)) return;
  const into = (state.logprobs ??= { content: [] }) as { content: unknown[] };
  into.content.push(...(raw.content as unknown[]));
}

function setFinish(ec: ErrorContext, state: StreamState, reason: string): void {
  // Azure/OpenAI stop a filtered answer with finish_reason "content_filter": the text is cut, not whole.
  if (reason === 'content_filter')
    throw new ProviderError(
      'content_filter',
      `${ec.label}: blocked by the content filter: the provider stopped the answer (finish_reason "content_filter")`,
    );
  // Older servers say "function_call" for the same thing.
  state.finishReason = reason === 'function_call' ? 'tool_calls' : reason;
}

function usageOf(u: unknown): Usage | undefined {
  if (!isRecord(u)) return undefined;
  const p = u.prompt_tokens;
  const c = u.completion_tokens;
  if (typeof p !== 'number' && typeof c !== 'number') return undefined;
  return { promptTokens: typeof p === 'number' ? p : 0, completionTokens: typeof c === 'number' ? c : 0 };
}
