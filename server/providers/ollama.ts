// Ollama's native API: `/api/chat` (NDJSON stream, final line `done: true` with eval counts; tools,
// tool calls with arguments as objects, images as base64 in `images`, `format` for JSON output),
// `/api/generate` for fill-in-the-middle (`suffix`) on models whose template takes one (else chat
// form), `/api/tags` + `/api/show` for discovery with the real context length. No key is needed
// locally; one is sent as Bearer when configured (Ollama behind an authenticating proxy).
import type { GenerateOptions, GenerateRequest, GenerateResult, Provider, ProviderModel } from '../core/types';
import { isProviderError, ProviderError } from '../core/types';
import type { Capability, ChatMessage, ContentPart, Tool, ToolCall, Usage } from '../../protocol/types';
import { isRecord } from './errorBody';
import type { CloudContext, ErrorContext } from './http';
import { classifyErrorPayload, getJson, joinUrl, withAuth } from './http';
import type { EmitToolCall, StreamState, WireDecoder } from './stream';
import { streamGeneration } from './stream';
import { fimInChatForm, imageSource, newToolCallId, toolArguments, toolResultNames } from './translate';

/** `/api/show` calls in flight at once during discovery. */
const SHOW_CONCURRENCY = 4;

const CAPABILITY_MAP: Record<string, Capability[]> = {
  completion: ['chat', 'completion'],
  insert: ['fim'],
  tools: ['tools'],
  vision: ['vision'],
};

export class OllamaProvider implements Provider {
  /** Ollama's /api/chat has no logit bias, log probabilities, end-user id or metadata. */
  readonly ignores = ['logitBias', 'logprobs', 'topLogprobs', 'user', 'metadata'] as const;
  readonly type = 'ollama' as const;
  readonly kind = 'cloud' as const;
  readonly id: string;
  /**
   * Whether a model's template takes a suffix (`insert` in /api/show), from the configuration, the
   * provider's own discovery, or a refusal seen once. Unknown models are tried on /api/generate.
   */
  private readonly insert = new Map<string, boolean>();

  constructor(private readonly ctx: CloudContext) {
    this.id = ctx.id;
  }

  async generate(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult> {
    if (req.suffix === undefined || req.prompt === undefined) return this.call(req, opts, false);
    if (!this.takesSuffix(req.model)) return fimInChatForm(req, opts, (r, o) => this.call(r, o, false));
    let sent = false;
    try {
      return await this.call(req, { ...opts, onDelta: (d) => ((sent = true), opts.onDelta?.(d)) }, true);
    } catch (e) {
      // "<model> does not support insert": the template has no suffix; ask the same model in chat form.
      if (sent || !(isProviderError(e) && e.status === 400 && /does not support insert/i.test(e.message))) throw e;
      this.insert.set(req.model, false);
      this.ctx.logger?.info(
        `${this.ctx.errorContext(req.model).label}: its template takes no suffix: fill-in-the-middle goes through chat`,
      );
      return fimInChatForm(req, opts, (r, o) => this.call(r, o, false));
    }
  }

  private takesSuffix(model: string): boolean {
    const configured = this.ctx.modelInfo[model]?.capabilities;
    if (configured !== undefined) return configured.includes('fim');
    return this.insert.get(model) ?? true;
  }

  private async call(req: GenerateRequest, opts: GenerateOptions, fim: boolean): Promise<GenerateResult> {
    const ec = this.ctx.errorContext(req.model);
    const stream = req.stream !== false;
    const options = ollamaOptions(req);
    const common = {
      model: req.model,
      stream,
      ...(Object.keys(options).length === 0 ? {} : { options }),
    };
    const body = fim
      ? { ...common, prompt: req.prompt ?? '', suffix: req.suffix, ...formatOf(req) }
      : { ...common, ...ollamaChat(ec, req) };
    return streamGeneration(
      ec,
      { url: joinUrl(this.ctx.baseUrl, fim ? 'api/generate' : 'api/chat'), headers: this.headers(), body },
      opts.signal,
      ollamaDecoder(ec),
      { onDelta: opts.onDelta, onToolCallDelta: opts.onToolCallDelta },
    );
  }

  async listModels(signal: AbortSignal): Promise<ProviderModel[]> {
    const ec = this.ctx.errorContext();
    const tags = await getJson(ec, joinUrl(this.ctx.baseUrl, 'api/tags'), this.headers(), signal);
    const list = isRecord(tags) && Array.isArray(tags.models) ? tags.models.filter(isRecord) : [];
    const out: ProviderModel[] = list
      .filter((m) => typeof m.name === 'string')
      .map((m) => {
        const d = isRecord(m.details) ? m.details : {};
        return {
          name: String(m.name),
          ...(typeof m.size === 'number' ? { sizeBytes: m.size } : {}),
          ...(typeof d.parameter_size === 'string' ? { parameters: d.parameter_size } : {}),
          ...(typeof d.quantization_level === 'string' ? { quantization: d.quantization_level } : {}),
        };
      });
    // Context length and capabilities only come from /api/show, one model at a time.
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < out.length; i = next++) {
        const m = out[i];
        if (m !== undefined) await this.show(m, signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(SHOW_CONCURRENCY, out.length) }, worker));
    return out;
  }

  private async show(m: ProviderModel, signal: AbortSignal): Promise<void> {
    try {
      const info = await getJson(
        this.ctx.errorContext(m.name),
        joinUrl(this.ctx.baseUrl, 'api/show'),
        this.headers(),
        signal,
        { model: m.name },
      );
      if (!isRecord(info)) return;
      const mi = isRecord(info.model_info) ? info.model_info : {};
      const ctxKey = Object.keys(mi).find((k) => k.endsWith('.context_length'));
      const ctxLen = ctxKey === undefined ? undefined : mi[ctxKey];
      if (typeof ctxLen === 'number' && ctxLen > 0) m.contextLength = ctxLen;
      if (Array.isArray(info.capabilities)) {
        const caps = new Set<Capability>(
          info.capabilities.flatMap((c) => (typeof c === 'string' ? (CAPABILITY_MAP[c] ?? []) : [])),
        );
        if (caps.size > 0) m.capabilities = [...caps];
        this.insert.set(m.name, caps.has('fim'));
      }
    } catch (e) {
      // One model's details failing must not hide the others; an abort still ends discovery.
      if (isProviderError(e) && e.kind === 'cancelled') throw e;
      this.ctx.logger?.debug(
        `${this.ctx.id}: /api/show ${m.name} failed: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  private headers(): Record<string, string> {
    return { accept: 'application/x-ndjson', ...withAuth(this.ctx, (key) => ({ authorization: `Bearer ${key}` })) };
  }
}

/** Sampling and size fields: Ollama takes them in `options`. */
function ollamaOptions(req: GenerateRequest): Record<string, unknown> {
  return {
    ...(req.maxTokens === undefined ? {} : { num_predict: req.maxTokens }),
    ...(req.temperature === undefined ? {} : { temperature: req.temperature }),
    ...(req.topP === undefined ? {} : { top_p: req.topP }),
    ...(req.seed === undefined ? {} : { seed: req.seed }),
    ...(req.presencePenalty === undefined ? {} : { presence_penalty: req.presencePenalty }),
    ...(req.frequencyPenalty === undefined ? {} : { frequency_penalty: req.frequencyPenalty }),
    ...(req.stop === undefined || req.stop.length === 0 ? {} : { stop: req.stop }),
    ...(req.contextSize === undefined ? {} : { num_ctx: req.contextSize }),
  };
}

/** Structured output: `format: "json"` or the JSON schema itself. */
function formatOf(req: GenerateRequest): { format?: unknown } {
  const rf = req.responseFormat;
  if (rf === undefined || rf.type === 'text') return {};
  return { format: rf.type === 'json_schema' ? rf.schema : 'json' };
}

/** The /api/chat fields: messages, tools, format. */
export function ollamaChat(ec: ErrorContext, req: GenerateRequest): Record<string, unknown> {
  const messages: ChatMessage[] = req.messages ?? [{ role: 'user', content: req.prompt ?? '' }];
  const names = toolResultNames(messages);
  const tools = ollamaTools(req);
  return {
    messages: messages.map((m, i) => ollamaMessage(ec, m, names[i])),
    ...(tools === undefined ? {} : { tools }),
    ...formatOf(req),
  };
}

/**
 * Ollama has no tool_choice: "none" sends no tools, a named tool sends only that one; "auto" and
 * "required" send them all (the model decides; Ollama cannot force a call).
 */
function ollamaTools(req: GenerateRequest): Record<string, unknown>[] | undefined {
  const choice = req.toolChoice;
  if (!req.tools?.length || choice === 'none') return undefined;
  const offered = typeof choice === 'object' ? req.tools.filter((t) => t.name === choice.name) : req.tools;
  return offered.map((t: Tool) => ({
    type: 'function',
    function: {
      name: t.name,
      ...(t.description === undefined ? {} : { description: t.description }),
      parameters: t.parameters ?? { type: 'object', properties: {} },
    },
  }));
}

function ollamaMessage(ec: ErrorContext, m: ChatMessage, toolName: string | undefined): Record<string, unknown> {
  switch (m.role) {
    case 'system':
      return { role: 'system', content: m.content };
    case 'tool':
      return { role: 'tool', content: m.content, ...(toolName === undefined ? {} : { tool_name: toolName }) };
    case 'assistant':
      return m.toolCalls?.length
        ? {
            role: 'assistant',
            content: m.content,
            tool_calls: m.toolCalls.map((c: ToolCall) => ({
              function: { name: c.name, arguments: toolArguments(ec, c) },
            })),
          }
        : { role: 'assistant', content: m.content };
    case 'user':
      return typeof m.content === 'string'
        ? { role: 'user', content: m.content }
        : { role: 'user', ...userContent(ec, m.content) };
  }
}

/** Text parts joined; images as base64 in `images` (Ollama takes bytes only, never a URL). */
function userContent(ec: ErrorContext, parts: readonly ContentPart[]): { content: string; images?: string[] } {
  const images: string[] = [];
  let content = '';
  for (const p of parts) {
    if (p.type === 'text') {
      content += p.text;
      continue;
    }
    const src = imageSource(p.url);
    if (src.kind === 'url')
      throw new ProviderError(
        'unsupported',
        `${ec.label}: Ollama takes images as data URLs (base64 bytes), not as links; send the image as a data: URL`,
      );
    images.push(src.base64);
  }
  return { content, ...(images.length ? { images } : {}) };
}

/** `message.tool_calls` arrive whole (arguments as an object): each becomes one numbered tool call. */
export function ollamaDecoder(ec: ErrorContext): WireDecoder {
  let calls = 0;
  const textOf = (json: Record<string, unknown>): string => {
    if (typeof json.response === 'string') return json.response; // /api/generate
    const msg = isRecord(json.message) ? json.message : {};
    return typeof msg.content === 'string' ? msg.content : '';
  };
  const toolCallsOf = (json: Record<string, unknown>, emitToolCall: EmitToolCall): void => {
    const raw = isRecord(json.message) ? json.message.tool_calls : undefined;
    if (!Array.isArray(raw)) return;
    for (const t of raw) {
      const fn = isRecord(t) && isRecord(t.function) ? t.function : undefined;
      if (fn === undefined || typeof fn.name !== 'string') continue;
      const index = calls++;
      const args = fn.arguments;
      emitToolCall({
        index,
        id: isRecord(t) && typeof t.id === 'string' && t.id !== '' ? t.id : newToolCallId(index),
        name: fn.name,
        arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
      });
    }
  };
  const finish = (json: Record<string, unknown>, state: StreamState): void => {
    const reason = typeof json.done_reason === 'string' && json.done_reason !== '' ? json.done_reason : 'stop';
    // Ollama says "stop" after tool calls: OpenAI's terms (and agents) expect "tool_calls".
    state.finishReason = reason === 'stop' && calls > 0 ? 'tool_calls' : reason;
    state.usage = usageOf(json, state.deltas);
    state.ended = true;
  };
  return {
    framing: 'ndjson',
    onMessage(msg, state, emit, emitToolCall) {
      const json: unknown = JSON.parse(msg.data);
      if (!isRecord(json)) return;
      if (json.error !== undefined) throw classifyErrorPayload(ec, json);
      emit(textOf(json));
      toolCallsOf(json, emitToolCall);
      if (json.done === true) finish(json, state);
    },
    whole(json) {
      if (!isRecord(json)) throw new SyntaxError('not an object');
      if (json.error !== undefined) throw classifyErrorPayload(ec, json);
      const text = textOf(json);
      const toolCalls: ToolCall[] = [];
      toolCallsOf(json, (d) => toolCalls.push({ id: d.id ?? '', name: d.name ?? '', arguments: d.arguments ?? '{}' }));
      const state: StreamState = { text, deltas: 0, ended: false };
      finish(json, state);
      return {
        text,
        ...(state.finishReason === undefined ? {} : { finishReason: state.finishReason }),
        ...(state.usage === undefined ? {} : { usage: state.usage }),
        ...(toolCalls.length ? { toolCalls } : {}),
      };
    },
  };
}

function usageOf(json: Record<string, unknown>, deltas: number): Usage {
  return {
    promptTokens: typeof json.prompt_eval_count === 'number' ? json.prompt_eval_count : 0,
    completionTokens: typeof json.eval_count === 'number' ? json.eval_count : deltas,
  };
}
