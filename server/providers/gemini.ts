// Google Gemini (Generative Language API v1beta): `models/{m}:streamGenerateContent?alt=sse` with the
// key in `x-goog-api-key` (never in the URL, where proxies and logs would keep it), `/v1beta/models`
// for discovery. RESOURCE_EXHAUSTED → rate_limited with RetryInfo's retryDelay; a SAFETY-class
// finishReason or a blocked prompt → content_filter.
import type { GenerateOptions, GenerateRequest, GenerateResult, Provider, ProviderModel } from '../core/types';
import { ProviderError } from '../core/types';
import type { ChatMessage, Usage } from '../../protocol/types';
import { isRecord } from './errorBody';
import type { CloudContext, ErrorContext } from './http';
import { classifyErrorPayload, getJson, joinUrl, requireKey } from './http';
import type { StreamState, WireDecoder } from './stream';
import { streamGeneration } from './stream';

/** Discovery pages before we stop following `nextPageToken`. */
const MAX_MODEL_PAGES = 10;

const FINISH_REASONS: Record<string, string> = { STOP: 'stop', MAX_TOKENS: 'length' };
const FILTER_REASONS = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'LANGUAGE',
]);

export class GeminiProvider implements Provider {
  readonly type = 'gemini' as const;
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
    const generationConfig = {
      ...(req.maxTokens === undefined ? {} : { maxOutputTokens: req.maxTokens }),
      ...(req.temperature === undefined ? {} : { temperature: req.temperature }),
      ...(req.stop === undefined || req.stop.length === 0 ? {} : { stopSequences: req.stop }),
    };
    const body = {
      contents: messages
        .filter((m) => m.role !== 'system')
        .map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] })),
      ...(system === '' ? {} : { systemInstruction: { parts: [{ text: system }] } }),
      ...(Object.keys(generationConfig).length === 0 ? {} : { generationConfig }),
    };
    const url = joinUrl(
      this.ctx.baseUrl,
      `v1beta/models/${encodeURIComponent(bareModel(req.model))}:streamGenerateContent?alt=sse`,
    );
    return streamGeneration(
      ec,
      { url, headers: this.headers(req.model), body },
      opts.signal,
      geminiDecoder(ec),
      opts.onDelta,
    );
  }

  async listModels(signal: AbortSignal): Promise<ProviderModel[]> {
    const out: ProviderModel[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_MODEL_PAGES; page++) {
      const query = `v1beta/models?pageSize=1000${token === undefined ? '' : `&pageToken=${encodeURIComponent(token)}`}`;
      const json = await getJson(this.ctx.errorContext(), joinUrl(this.ctx.baseUrl, query), this.headers(), signal);
      const models = isRecord(json) && Array.isArray(json.models) ? json.models.filter(isRecord) : [];
      for (const m of models) {
        if (typeof m.name !== 'string') continue;
        // Embedding-only and other non-generative models cannot answer a completion.
        const methods = m.supportedGenerationMethods;
        if (
          Array.isArray(methods) &&
          !methods.includes('generateContent') &&
          !methods.includes('streamGenerateContent')
        )
          continue;
        out.push({
          name: bareModel(m.name),
          ...(typeof m.inputTokenLimit === 'number' && m.inputTokenLimit > 0
            ? { contextLength: m.inputTokenLimit }
            : {}),
        });
      }
      if (!isRecord(json) || typeof json.nextPageToken !== 'string' || json.nextPageToken === '') break;
      token = json.nextPageToken;
    }
    return out;
  }

  private headers(model?: string): Record<string, string> {
    return { accept: 'text/event-stream', ...this.ctx.headers, 'x-goog-api-key': requireKey(this.ctx, model) };
  }
}

/** "models/gemini-2.0-flash" → "gemini-2.0-flash" (the API lists names with the prefix). */
function bareModel(name: string): string {
  return name.startsWith('models/') ? name.slice('models/'.length) : name;
}

function geminiDecoder(ec: ErrorContext): WireDecoder {
  const apply = (json: Record<string, unknown>, state: StreamState, emit: (t: string) => void): void => {
    if (json.error !== undefined) throw classifyErrorPayload(ec, json);
    const feedback = isRecord(json.promptFeedback) ? json.promptFeedback : {};
    if (typeof feedback.blockReason === 'string' && feedback.blockReason !== '') {
      const why = typeof feedback.blockReasonMessage === 'string' ? `: ${feedback.blockReasonMessage}` : '';
      throw new ProviderError(
        'content_filter',
        `${ec.label}: blocked by the content filter: prompt blocked (${feedback.blockReason})${why}`,
      );
    }
    const cand = Array.isArray(json.candidates) ? json.candidates[0] : undefined;
    if (isRecord(cand)) {
      const parts = isRecord(cand.content) && Array.isArray(cand.content.parts) ? cand.content.parts : [];
      // Thinking models stream thought summaries as parts with `thought: true`: not answer text.
      for (const p of parts) if (isRecord(p) && p.thought !== true && typeof p.text === 'string') emit(p.text);
      const reason = cand.finishReason;
      if (typeof reason === 'string' && reason !== '' && reason !== 'FINISH_REASON_UNSPECIFIED') {
        if (FILTER_REASONS.has(reason))
          throw new ProviderError(
            'content_filter',
            `${ec.label}: blocked by the content filter: the answer was stopped (finishReason ${reason})`,
          );
        state.finishReason = FINISH_REASONS[reason] ?? reason.toLowerCase();
      }
    }
    const usage = usageOf(json.usageMetadata);
    if (usage !== undefined) state.usage = usage;
  };
  return {
    framing: 'sse',
    onMessage(msg, state, emit) {
      const json: unknown = JSON.parse(msg.data);
      if (isRecord(json)) apply(json, state, emit);
    },
    whole(json) {
      // generateContent answers one object; a stream endpoint without alt=sse answers an array.
      const items = Array.isArray(json) ? json.filter(isRecord) : isRecord(json) ? [json] : [];
      if (items.length === 0) throw new SyntaxError('not an object');
      const state: StreamState = { text: '', deltas: 0, ended: false };
      for (const item of items) apply(item, state, (t) => (state.text += t));
      return {
        text: state.text,
        ...(state.finishReason === undefined ? {} : { finishReason: state.finishReason }),
        ...(state.usage === undefined ? {} : { usage: state.usage }),
      };
    },
  };
}

function usageOf(u: unknown): Usage | undefined {
  if (!isRecord(u)) return undefined;
  const p = u.promptTokenCount;
  const c = u.candidatesTokenCount;
  if (typeof p !== 'number' && typeof c !== 'number') return undefined;
  return { promptTokens: typeof p === 'number' ? p : 0, completionTokens: typeof c === 'number' ? c : 0 };
}
