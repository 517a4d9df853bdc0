// Anthropic Messages API: `POST /v1/messages` with SSE (message_start → content_block_delta… →
// message_delta {stop_reason, usage} → message_stop), `x-api-key` + `anthropic-version` headers,
// `/v1/models` for discovery. `overloaded_error` (HTTP 529) is a retryable server error.
import type { GenerateOptions, GenerateRequest, GenerateResult, Provider, ProviderModel } from '../core/types';
import { ProviderError } from '../core/types';
import type { ChatMessage } from '../../protocol/types';
import { isRecord } from './errorBody';
import type { CloudContext, ErrorContext } from './http';
import { classifyErrorPayload, getJson, joinUrl, requireKey } from './http';
import type { StreamState, WireDecoder } from './stream';
import { streamGeneration } from './stream';

export const ANTHROPIC_DEFAULT_VERSION = '2023-06-01';
/** The Messages API requires max_tokens; used when the caller sets none. */
const DEFAULT_MAX_TOKENS = 4096;
/** Discovery pages (of up to 1000 models) before we stop following `has_more`. */
const MAX_MODEL_PAGES = 10;

export class AnthropicProvider implements Provider {
  readonly type = 'anthropic' as const;
  readonly kind = 'cloud' as const;
  readonly id: string;

  constructor(private readonly ctx: CloudContext) {
    this.id = ctx.id;
  }

  async generate(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult> {
    const ec = this.ctx.errorContext(req.model);
    const messages: ChatMessage[] = req.messages ?? [{ role: 'user', content: req.prompt ?? '' }];
    const system = messages
      .filter((m) => m.role === 'system')
      .map((m) => m.content)
      .join('\n\n');
    const body = {
      model: req.model,
      max_tokens: req.maxTokens ?? DEFAULT_MAX_TOKENS,
      messages: messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role, content: m.content })),
      ...(system === '' ? {} : { system }),
      stream: true,
      ...(req.temperature === undefined ? {} : { temperature: req.temperature }),
      ...(req.stop === undefined || req.stop.length === 0 ? {} : { stop_sequences: req.stop }),
    };
    return streamGeneration(
      ec,
      { url: joinUrl(this.ctx.baseUrl, 'v1/messages'), headers: this.headers(req.model), body },
      opts.signal,
      anthropicDecoder(ec),
      opts.onDelta,
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

  private headers(model?: string): Record<string, string> {
    const key = requireKey(this.ctx, model);
    return {
      accept: 'text/event-stream',
      ...this.ctx.headers,
      'x-api-key': key,
      'anthropic-version': this.ctx.anthropicVersion ?? ANTHROPIC_DEFAULT_VERSION,
    };
  }
}

const STOP_REASONS: Record<string, string> = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length' };

function anthropicDecoder(ec: ErrorContext): WireDecoder {
  let promptTokens = 0;
  const setFinish = (state: StreamState, reason: unknown): void => {
    if (typeof reason !== 'string' || reason === '') return;
    if (reason === 'refusal')
      throw new ProviderError(
        'content_filter',
        `${ec.label}: blocked by the content filter: the model refused (stop_reason "refusal")`,
      );
    state.finishReason = STOP_REASONS[reason] ?? reason;
  };
  return {
    framing: 'sse',
    onMessage(msg, state, emit) {
      const json: unknown = JSON.parse(msg.data);
      if (!isRecord(json)) return;
      switch (json.type) {
        case 'message_start': {
          const usage = isRecord(json.message) && isRecord(json.message.usage) ? json.message.usage : {};
          if (typeof usage.input_tokens === 'number') promptTokens = usage.input_tokens;
          return;
        }
        case 'content_block_delta': {
          const d = isRecord(json.delta) ? json.delta : {};
          if (d.type === 'text_delta' && typeof d.text === 'string') emit(d.text);
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
          return; // ping, content_block_start/stop, and event types added later
      }
    },
    whole(json) {
      if (!isRecord(json)) throw new SyntaxError('not an object');
      if (json.type === 'error') throw classifyErrorPayload(ec, json);
      const text = Array.isArray(json.content)
        ? json.content
            .map((b) => (isRecord(b) && b.type === 'text' && typeof b.text === 'string' ? b.text : ''))
            .join('')
        : '';
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
      };
    },
  };
}
