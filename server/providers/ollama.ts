// Ollama's native API: `/api/chat` (NDJSON stream, final line `done: true` with eval counts),
// `/api/generate` for fill-in-the-middle (`suffix`), `/api/tags` + `/api/show` for discovery with
// the real context length. No key is needed locally; one is sent as Bearer when configured
// (Ollama behind an authenticating proxy).
import type { GenerateOptions, GenerateRequest, GenerateResult, Provider, ProviderModel } from '../core/types';
import { isProviderError } from '../core/types';
import type { Capability, Usage } from '../../protocol/types';
import { isRecord } from './errorBody';
import type { CloudContext, ErrorContext } from './http';
import { classifyErrorPayload, getJson, joinUrl, withAuth } from './http';
import type { StreamState, WireDecoder } from './stream';
import { streamGeneration } from './stream';

/** `/api/show` calls in flight at once during discovery. */
const SHOW_CONCURRENCY = 4;

const CAPABILITY_MAP: Record<string, Capability[]> = {
  completion: ['chat', 'completion'],
  insert: ['fim'],
  tools: ['tools'],
  vision: ['vision'],
};

export class OllamaProvider implements Provider {
  readonly type = 'ollama' as const;
  readonly kind = 'cloud' as const;
  readonly id: string;

  constructor(private readonly ctx: CloudContext) {
    this.id = ctx.id;
  }

  generate(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult> {
    const ec = this.ctx.errorContext(req.model);
    const fim = req.suffix !== undefined;
    const options = {
      ...(req.maxTokens === undefined ? {} : { num_predict: req.maxTokens }),
      ...(req.temperature === undefined ? {} : { temperature: req.temperature }),
      ...(req.stop === undefined || req.stop.length === 0 ? {} : { stop: req.stop }),
      ...(req.contextSize === undefined ? {} : { num_ctx: req.contextSize }),
    };
    const body = fim
      ? { model: req.model, prompt: req.prompt ?? '', suffix: req.suffix, stream: true, options }
      : {
          model: req.model,
          messages: req.messages ?? [{ role: 'user', content: req.prompt ?? '' }],
          stream: true,
          options,
        };
    return streamGeneration(
      ec,
      { url: joinUrl(this.ctx.baseUrl, fim ? 'api/generate' : 'api/chat'), headers: this.headers(), body },
      opts.signal,
      ollamaDecoder(ec),
      opts.onDelta,
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

function ollamaDecoder(ec: ErrorContext): WireDecoder {
  const textOf = (json: Record<string, unknown>): string => {
    if (typeof json.response === 'string') return json.response; // /api/generate
    const msg = isRecord(json.message) ? json.message : {};
    return typeof msg.content === 'string' ? msg.content : '';
  };
  const finish = (json: Record<string, unknown>, state: StreamState): void => {
    state.finishReason = typeof json.done_reason === 'string' && json.done_reason !== '' ? json.done_reason : 'stop';
    state.usage = usageOf(json, state.deltas);
    state.ended = true;
  };
  return {
    framing: 'ndjson',
    onMessage(msg, state, emit) {
      const json: unknown = JSON.parse(msg.data);
      if (!isRecord(json)) return;
      if (json.error !== undefined) throw classifyErrorPayload(ec, json);
      emit(textOf(json));
      if (json.done === true) finish(json, state);
    },
    whole(json) {
      if (!isRecord(json)) throw new SyntaxError('not an object');
      if (json.error !== undefined) throw classifyErrorPayload(ec, json);
      const text = textOf(json);
      const state: StreamState = { text, deltas: 0, ended: false };
      finish(json, state);
      return {
        text,
        ...(state.finishReason === undefined ? {} : { finishReason: state.finishReason }),
        ...(state.usage === undefined ? {} : { usage: state.usage }),
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
