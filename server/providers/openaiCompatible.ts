// OpenAI-compatible wire format (OpenAI, OpenRouter, Groq, LM Studio, vLLM, llama.cpp server,
// Ollama's /v1): `/chat/completions` for chat and plain prompts, `/completions` for fill-in-the-middle
// or completion-only models; SSE with `stream_options.include_usage`; `/models` for discovery.
import type { GenerateOptions, GenerateRequest, GenerateResult, Provider, ProviderModel } from '../core/types';
import { ProviderError } from '../core/types';
import type { ChatMessage, Usage } from '../../protocol/types';
import { isRecord } from './errorBody';
import type { CloudContext, ErrorContext } from './http';
import { classifyErrorPayload, getJson, joinUrl, withAuth } from './http';
import type { StreamState, WireDecoder } from './stream';
import { streamGeneration } from './stream';

export class OpenAICompatibleProvider implements Provider {
  readonly type = 'openai-compatible' as const;
  readonly kind = 'cloud' as const;
  readonly id: string;

  constructor(private readonly ctx: CloudContext) {
    this.id = ctx.id;
  }

  generate(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult> {
    const ec = this.ctx.errorContext(req.model);
    const completion = useCompletionsEndpoint(req, this.ctx.modelInfo[req.model]?.capabilities);
    const common = {
      model: req.model,
      stream: true,
      stream_options: { include_usage: true },
      ...(req.maxTokens === undefined ? {} : { max_tokens: req.maxTokens }),
      ...(req.temperature === undefined ? {} : { temperature: req.temperature }),
      ...(req.stop === undefined || req.stop.length === 0 ? {} : { stop: req.stop }),
    };
    const body = completion
      ? {
          ...common,
          prompt: req.prompt ?? flatten(req.messages ?? []),
          ...(req.suffix === undefined ? {} : { suffix: req.suffix }),
        }
      : { ...common, messages: req.messages ?? [{ role: 'user', content: req.prompt ?? '' }] };
    return streamGeneration(
      ec,
      {
        url: joinUrl(this.ctx.baseUrl, completion ? 'completions' : 'chat/completions'),
        headers: this.headers(),
        body,
      },
      opts.signal,
      openAiDecoder(ec, completion),
      opts.onDelta,
    );
  }

  async listModels(signal: AbortSignal): Promise<ProviderModel[]> {
    const json = await getJson(this.ctx.errorContext(), joinUrl(this.ctx.baseUrl, 'models'), this.headers(), signal);
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

  private headers(): Record<string, string> {
    return { accept: 'text/event-stream', ...withAuth(this.ctx, (key) => ({ authorization: `Bearer ${key}` })) };
  }
}

/** `/completions` when the caller sends a FIM suffix or the model is configured as completion-only. */
export function useCompletionsEndpoint(req: GenerateRequest, capabilities: readonly string[] | undefined): boolean {
  if (req.suffix !== undefined) return true;
  if (capabilities === undefined || req.messages !== undefined) return false;
  return !capabilities.includes('chat') && (capabilities.includes('completion') || capabilities.includes('fim'));
}

function flatten(messages: ChatMessage[]): string {
  return messages.map((m) => m.content).join('\n\n');
}

function openAiDecoder(ec: ErrorContext, completion: boolean): WireDecoder {
  const textOf = (choice: Record<string, unknown>): string => {
    if (completion) return typeof choice.text === 'string' ? choice.text : '';
    const d = isRecord(choice.delta) ? choice.delta : isRecord(choice.message) ? choice.message : {};
    return typeof d.content === 'string' ? d.content : '';
  };
  return {
    framing: 'sse',
    onMessage(msg, state, emit) {
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
      return {
        text: textOf(choice),
        ...(state.finishReason === undefined ? {} : { finishReason: state.finishReason }),
        ...(usage === undefined ? {} : { usage }),
      };
    },
  };
}

function setFinish(ec: ErrorContext, state: StreamState, reason: string): void {
  // Azure/OpenAI stop a filtered answer with finish_reason "content_filter": the text is cut, not whole.
  if (reason === 'content_filter')
    throw new ProviderError(
      'content_filter',
      `${ec.label}: blocked by the content filter: the provider stopped the answer (finish_reason "content_filter")`,
    );
  state.finishReason = reason;
}

function usageOf(u: unknown): Usage | undefined {
  if (!isRecord(u)) return undefined;
  const p = u.prompt_tokens;
  const c = u.completion_tokens;
  if (typeof p !== 'number' && typeof c !== 'number') return undefined;
  return { promptTokens: typeof p === 'number' ? p : 0, completionTokens: typeof c === 'number' ? c : 0 };
}
