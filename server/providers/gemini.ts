// Google Gemini (Generative Language API v1beta): `models/{m}:streamGenerateContent?alt=sse` (or
// `:generateContent` for one JSON body) with the key in `x-goog-api-key` (never in the URL, where
// proxies and logs would keep it), `/v1beta/models` for discovery. Tools ↔ function declarations,
// functionCall / functionResponse parts; images as inlineData or fileData; JSON output through
// responseMimeType / responseJsonSchema; fill-in-the-middle in chat form. RESOURCE_EXHAUSTED →
// rate_limited with RetryInfo's retryDelay; a SAFETY-class finishReason or a blocked prompt →
// content_filter.
import { LRUCache } from 'lru-cache';
import type { GenerateOptions, GenerateRequest, GenerateResult, Provider, ProviderModel } from '../core/types';
import { ProviderError } from '../core/types';
import type { ChatMessage, ContentPart, Tool, ToolChoice, Usage } from '../../protocol/types';
import { isRecord } from './errorBody';
import type { CloudContext, ErrorContext } from './http';
import { classifyErrorPayload, getJson, joinUrl, requireKey } from './http';
import type { EmitToolCall, StreamState, WireDecoder } from './stream';
import { streamGeneration } from './stream';
import { fimInChatForm, imageSource, imageTypeOfUrl, newToolCallId, toolArguments, toolResultNames } from './translate';

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

/** Tool call id → thought signature entries kept per provider (a signature is a few hundred bytes). */
const MAX_SIGNATURES = 4096;
/** Google's documented value for a function call whose real signature is not available. */
export const SKIP_SIGNATURE = 'skip_thought_signature_validator';
type SignatureOf = (toolCallId: string) => string | undefined;

export class GeminiProvider implements Provider {
  /** generateContent has no logit bias, end-user id or metadata; log probabilities are not carried back. */
  readonly ignores = ['logitBias', 'logprobs', 'topLogprobs', 'user', 'metadata'] as const;
  readonly type = 'gemini' as const;
  readonly kind = 'cloud' as const;
  readonly id: string;
  /** Thought signatures of this provider's function calls by tool call id, to hand back on the next turn. */
  private readonly signatures = new LRUCache<string, string>({ max: MAX_SIGNATURES });

  constructor(private readonly ctx: CloudContext) {
    this.id = ctx.id;
  }

  async generate(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult> {
    // Editor completions: Gemini has no fill-in-the-middle endpoint, so they go in chat form.
    if (req.suffix !== undefined && req.prompt !== undefined)
      return fimInChatForm(req, opts, (r, o) => this.call(r, o));
    return this.call(req, opts);
  }

  private async call(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult> {
    const ec = this.ctx.errorContext(req.model);
    const stream = req.stream !== false;
    const body = geminiBody(ec, req, (id) => this.signatures.get(id));
    const method = stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
    const url = joinUrl(this.ctx.baseUrl, `v1beta/models/${encodeURIComponent(bareModel(req.model))}:${method}`);
    return streamGeneration(
      ec,
      { url, headers: this.headers(req.model, stream), body },
      opts.signal,
      geminiDecoder(ec, (id, sig) => this.signatures.set(id, sig)),
      { onDelta: opts.onDelta, onToolCallDelta: opts.onToolCallDelta },
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

  private headers(model?: string, stream = false): Record<string, string> {
    return {
      accept: stream ? 'text/event-stream' : 'application/json',
      ...this.ctx.headers,
      'x-goog-api-key': requireKey(this.ctx, model),
    };
  }
}

/** "models/gemini-2.0-flash" → "gemini-2.0-flash" (the API lists names with the prefix). */
function bareModel(name: string): string {
  return name.startsWith('models/') ? name.slice('models/'.length) : name;
}

type Part = Record<string, unknown>;
interface GeminiContent {
  role: 'user' | 'model';
  parts: Part[];
}

/** The generateContent request: contents, system instruction, tools, tool config, generation config. */
export function geminiBody(
  ec: ErrorContext,
  req: GenerateRequest,
  signatureOf: SignatureOf = () => undefined,
): Record<string, unknown> {
  const messages: ChatMessage[] = req.messages ?? [{ role: 'user', content: req.prompt ?? '' }];
  const system = messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join('\n\n');
  const rf = req.responseFormat;
  const generationConfig = {
    ...(req.maxTokens === undefined ? {} : { maxOutputTokens: req.maxTokens }),
    ...(req.temperature === undefined ? {} : { temperature: req.temperature }),
    ...(req.topP === undefined ? {} : { topP: req.topP }),
    ...(req.seed === undefined ? {} : { seed: req.seed }),
    ...(req.presencePenalty === undefined ? {} : { presencePenalty: req.presencePenalty }),
    ...(req.frequencyPenalty === undefined ? {} : { frequencyPenalty: req.frequencyPenalty }),
    ...(req.stop === undefined || req.stop.length === 0 ? {} : { stopSequences: req.stop }),
    ...(rf === undefined || rf.type === 'text' ? {} : { responseMimeType: 'application/json' }),
    ...(rf?.type === 'json_schema' ? { responseJsonSchema: rf.schema } : {}),
  };
  const tools = req.tools?.length ? req.tools : undefined;
  const toolConfig = tools === undefined ? undefined : functionCallingConfig(req.toolChoice);
  return {
    contents: geminiContents(ec, messages, signatureOf),
    ...(system === '' ? {} : { systemInstruction: { parts: [{ text: system }] } }),
    ...(tools === undefined ? {} : { tools: [{ functionDeclarations: tools.map(functionDeclaration) }] }),
    ...(toolConfig === undefined ? {} : { toolConfig: { functionCallingConfig: toolConfig } }),
    ...(Object.keys(generationConfig).length === 0 ? {} : { generationConfig }),
  };
}

function functionDeclaration(t: Tool): Record<string, unknown> {
  return {
    name: t.name,
    ...(t.description === undefined ? {} : { description: t.description }),
    // JSON Schema as agents write it ($schema, additionalProperties, …): `parameters` takes only
    // Gemini's OpenAPI subset and refuses those keys; `parametersJsonSchema` takes JSON Schema.
    ...(t.parameters === undefined ? {} : { parametersJsonSchema: t.parameters }),
  };
}

function functionCallingConfig(choice: ToolChoice | undefined): Record<string, unknown> | undefined {
  if (choice === undefined) return undefined;
  if (choice === 'auto') return { mode: 'AUTO' };
  if (choice === 'none') return { mode: 'NONE' };
  if (choice === 'required') return { mode: 'ANY' };
  return { mode: 'ANY', allowedFunctionNames: [choice.name] };
}

/**
 * Chat turns in Gemini's terms: assistant → model; tool calls → functionCall parts; tool results →
 * functionResponse parts of a user turn, named after the call they answer (consecutive results share
 * one turn: Gemini wants the answers to one model turn's calls together).
 */
export function geminiContents(
  ec: ErrorContext,
  messages: readonly ChatMessage[],
  signatureOf: SignatureOf = () => undefined,
): GeminiContent[] {
  const names = toolResultNames(messages);
  const out: GeminiContent[] = [];
  let toolTurn: Part[] | undefined;
  for (const [i, m] of messages.entries()) {
    if (m.role === 'system') continue;
    if (m.role === 'tool') {
      const name = names[i];
      if (name === undefined)
        throw new ProviderError(
          'bad_request',
          `${ec.label}: the tool result for "${m.toolCallId}" answers no earlier tool call; Gemini needs the function's name`,
        );
      const part: Part = { functionResponse: { name, response: { content: m.content } } };
      if (toolTurn === undefined) {
        toolTurn = [part];
        out.push({ role: 'user', parts: toolTurn });
      } else toolTurn.push(part);
      continue;
    }
    toolTurn = undefined;
    if (m.role === 'user') out.push({ role: 'user', parts: userParts(m.content) });
    else
      out.push({
        role: 'model',
        parts: m.toolCalls?.length
          ? [
              ...(m.content === '' ? [] : [{ text: m.content }]),
              ...m.toolCalls.map((c, k) => {
                // Gemini 3 refuses a function call turn without the signature it sent with it (400).
                // One this daemon did not see (another model made the call, or a restart) gets the
                // validator-skip value Google documents for histories from elsewhere, on the first call.
                const sig = signatureOf(c.id) ?? (k === 0 ? SKIP_SIGNATURE : undefined);
                return {
                  functionCall: { name: c.name, args: toolArguments(ec, c) },
                  ...(sig === undefined ? {} : { thoughtSignature: sig }),
                };
              }),
            ]
          : [{ text: m.content }],
      });
  }
  return out;
}

function userParts(content: string | readonly ContentPart[]): Part[] {
  if (typeof content === 'string') return [{ text: content }];
  return content.map((p) => {
    if (p.type === 'text') return { text: p.text };
    const src = imageSource(p.url);
    return src.kind === 'data'
      ? { inlineData: { mimeType: src.mediaType, data: src.base64 } }
      : { fileData: { fileUri: src.url, mimeType: imageTypeOfUrl(src.url) } };
  });
}

/** Streamed chunks carry whole function calls: each one becomes one tool call, numbered in order. */
export function geminiDecoder(
  ec: ErrorContext,
  onSignature?: (callId: string, signature: string) => void,
): WireDecoder {
  let calls = 0;
  const apply = (
    json: Record<string, unknown>,
    state: StreamState,
    emit: (t: string) => void,
    emitToolCall: EmitToolCall,
  ): void => {
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
      for (const p of parts) {
        // Thinking models stream thought summaries as parts with `thought: true`: not answer text.
        if (!isRecord(p) || p.thought === true) continue;
        if (typeof p.text === 'string') emit(p.text);
        const fc = isRecord(p.functionCall) ? p.functionCall : undefined;
        if (fc !== undefined && typeof fc.name === 'string') {
          const index = calls++;
          const id = typeof fc.id === 'string' && fc.id !== '' ? fc.id : newToolCallId(index);
          if (typeof p.thoughtSignature === 'string' && p.thoughtSignature !== '')
            onSignature?.(id, p.thoughtSignature);
          emitToolCall({
            index,
            id,
            name: fc.name,
            arguments: JSON.stringify(isRecord(fc.args) ? fc.args : {}),
          });
        }
      }
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
    // Gemini says STOP after function calls too: OpenAI's terms (and agents) expect "tool_calls".
    if (state.finishReason === 'stop' && calls > 0) state.finishReason = 'tool_calls';
    const usage = usageOf(json.usageMetadata);
    if (usage !== undefined) state.usage = usage;
  };
  return {
    framing: 'sse',
    onMessage(msg, state, emit, emitToolCall) {
      const json: unknown = JSON.parse(msg.data);
      if (isRecord(json)) apply(json, state, emit, emitToolCall);
    },
    whole(json) {
      // generateContent answers one object; a stream endpoint without alt=sse answers an array.
      const items = Array.isArray(json) ? json.filter(isRecord) : isRecord(json) ? [json] : [];
      if (items.length === 0) throw new SyntaxError('not an object');
      const state: StreamState = { text: '', deltas: 0, ended: false };
      const toolCalls: { id: string; name: string; arguments: string }[] = [];
      for (const item of items)
        apply(
          item,
          state,
          (t) => (state.text += t),
          (d) => toolCalls.push({ id: d.id ?? '', name: d.name ?? '', arguments: d.arguments ?? '{}' }),
        );
      return {
        text: state.text,
        ...(state.finishReason === undefined ? {} : { finishReason: state.finishReason }),
        ...(state.usage === undefined ? {} : { usage: state.usage }),
        ...(toolCalls.length ? { toolCalls } : {}),
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
