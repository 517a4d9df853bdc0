// The streaming half shared by every cloud format: POST, check status, then read SSE or NDJSON
// into deltas until the answer is provably complete. Integrity rules (the engine relies on them):
// - complete = an explicit end marker ([DONE], message_stop, done:true), or finish reason AND
//   usage both received — then we resolve at once, without waiting for the body to close;
// - the body closing after a finish reason (usage or not) is complete too;
// - the body closing without a finish reason, a read error, or an unparseable chunk is
//   `stream_interrupted` — partial text is never returned as a success.
import { createParser } from 'eventsource-parser';
import type { GenerateResult } from '../core/types';
import { ProviderError, isProviderError } from '../core/types';
import type { ToolCall, ToolCallDelta, Usage } from '../../protocol/types';
import type { ErrorContext } from './http';
import { cancelledError, httpFetch, networkErrorCode, throwHttpError } from './http';
import type { WireResponse } from './httpClient';
import { redact } from './redact';

/** How much of an unparseable chunk is quoted in the error. */
const MAX_CHUNK_QUOTE_CHARS = 80;
/** Rough chars-per-token, only for servers that report no usage at all. */
const CHARS_PER_TOKEN_ESTIMATE = 4;

export interface StreamState {
  text: string;
  deltas: number;
  finishReason?: string;
  usage?: Usage;
  /** An explicit end marker was seen. */
  ended: boolean;
  /** Tool calls assembled from their pieces, by index. */
  toolCalls?: Map<number, ToolCall>;
  /** Log probabilities as the upstream sent them (OpenAI's `{ content: [...] }`). */
  logprobs?: unknown;
}

/** Emit a piece of a tool call: it is added to the state's calls and forwarded to the caller. */
export type EmitToolCall = (delta: ToolCallDelta) => void;

export interface WireMessage {
  event?: string | undefined;
  data: string;
}

export interface WireDecoder {
  framing: 'sse' | 'ndjson';
  /**
   * One SSE event or NDJSON line: call `emit` for text, set finishReason/usage/ended on `state`.
   * Throw a ProviderError for an error event; a SyntaxError (JSON.parse) means an unparseable chunk.
   */
  onMessage(msg: WireMessage, state: StreamState, emit: (text: string) => void, emitToolCall: EmitToolCall): void;
  /** A whole JSON body: the server ignored `stream: true` (or the caller asked for no stream). */
  whole(json: unknown): {
    text: string;
    finishReason?: string;
    usage?: Usage;
    toolCalls?: ToolCall[];
    logprobs?: unknown;
  };
}

export interface DeltaSinks {
  onDelta?: ((text: string) => void) | undefined;
  onToolCallDelta?: ((delta: ToolCallDelta) => void) | undefined;
}

export interface StreamRequest {
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** POST `req`, then read the answer with `decoder`. Every failure is a redacted ProviderError. */
export async function streamGeneration(
  ctx: ErrorContext,
  req: StreamRequest,
  signal: AbortSignal,
  decoder: WireDecoder,
  sinks?: DeltaSinks | ((text: string) => void),
): Promise<GenerateResult> {
  const s: DeltaSinks = typeof sinks === 'function' ? { onDelta: sinks } : (sinks ?? {});
  try {
    const res = await httpFetch(
      ctx,
      req.url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...req.headers },
        body: JSON.stringify(req.body),
      },
      signal,
    );
    if (!res.ok) await throwHttpError(ctx, res, signal);
    return await readGeneration(ctx, res, signal, decoder, s);
  } catch (e) {
    if (isProviderError(e)) throw e;
    if (signal.aborted) throw cancelledError(ctx, signal);
    throw new ProviderError('unknown', redact(`${ctx.label}: unexpected failure: ${redact(e)}`, ctx.secrets()), {
      cause: e,
    });
  }
}

/** What reading an answer needs of a response. */
export type AnswerResponse = Pick<WireResponse, 'headers' | 'body' | 'text'>;

export async function readGeneration(
  ctx: ErrorContext,
  res: AnswerResponse,
  signal: AbortSignal,
  decoder: WireDecoder,
  sinks: DeltaSinks | ((text: string) => void) = {},
): Promise<GenerateResult> {
  const { onDelta, onToolCallDelta } =
    typeof sinks === 'function' ? { onDelta: sinks, onToolCallDelta: undefined } : sinks;
  const contentType = res.headers.get('content-type') ?? '';
  if (contentType.includes('application/json')) return readWhole(ctx, res, signal, decoder, onDelta, onToolCallDelta);
  if (res.body === null) throw interrupted(ctx, 'the response has no body');

  const state: StreamState = { text: '', deltas: 0, ended: false };
  const emit = (text: string): void => {
    if (text === '') return;
    state.text += text;
    state.deltas++;
    onDelta?.(text);
  };
  const emitToolCall: EmitToolCall = (d) => {
    const calls = (state.toolCalls ??= new Map());
    const call = calls.get(d.index) ?? { id: '', name: '', arguments: '' };
    if (d.id) call.id = d.id;
    if (d.name) call.name = d.name;
    if (d.arguments) call.arguments += d.arguments;
    calls.set(d.index, call);
    state.deltas++;
    onToolCallDelta?.(d);
  };
  const pending: WireMessage[] = [];
  const parser =
    decoder.framing === 'sse'
      ? createParser({ onEvent: (e) => pending.push({ event: e.event, data: e.data }) })
      : undefined;
  let lineBuf = '';
  const feed = (chunk: string, atEnd: boolean): void => {
    if (parser !== undefined) return parser.feed(chunk);
    lineBuf += chunk;
    const lines = lineBuf.split('\n');
    // An NDJSON body may end without a final newline: the last line still counts at EOF.
    lineBuf = atEnd ? '' : (lines.pop() ?? '');
    for (const line of lines) if (line.trim() !== '') pending.push({ data: line.trim() });
  };
  const drain = (): void => {
    while (pending.length > 0 && !isComplete(state)) {
      const msg = pending.shift();
      if (msg === undefined) break;
      try {
        decoder.onMessage(msg, state, emit, emitToolCall);
      } catch (e) {
        if (e instanceof SyntaxError)
          throw interrupted(ctx, `unparseable chunk ${JSON.stringify(msg.data.slice(0, MAX_CHUNK_QUOTE_CHARS))}`);
        throw e;
      }
    }
  };

  const utf8 = new TextDecoder();
  const chunks = res.body[Symbol.asyncIterator]();
  // Leaving early (complete answer, bad chunk, abort) hands the rest of the body back to the client.
  const leave = (): void => void chunks.return?.()?.catch(() => undefined);
  for (;;) {
    let chunk: IteratorResult<Uint8Array>;
    try {
      chunk = await chunks.next();
    } catch (e) {
      if (signal.aborted) throw cancelledError(ctx, signal);
      const code = networkErrorCode(e);
      throw interrupted(
        ctx,
        `the connection broke mid-stream after ${state.deltas} deltas${code === undefined ? '' : ` (${code})`}`,
      );
    }
    feed(chunk.done ? utf8.decode() : utf8.decode(chunk.value, { stream: true }), chunk.done === true);
    try {
      drain();
    } catch (e) {
      leave();
      throw e;
    }
    if (signal.aborted) {
      leave();
      throw cancelledError(ctx, signal);
    }
    if (isComplete(state)) {
      // Release the connection now: a missing [DONE] or a lingering body must not delay the answer.
      if (!chunk.done) leave();
      return result(state);
    }
    if (chunk.done) break;
  }
  if (state.finishReason !== undefined) return result(state);
  throw interrupted(
    ctx,
    `the stream ended after ${state.deltas} deltas (${state.text.length} chars) without a finish signal; the answer is incomplete`,
  );
}

function isComplete(state: StreamState): boolean {
  return state.ended || (state.finishReason !== undefined && state.usage !== undefined);
}

function result(state: StreamState): GenerateResult {
  const r: GenerateResult = {
    text: state.text,
    // Some servers (older llama.cpp, LM Studio) send no usage: count deltas, about one token each.
    usage: state.usage ?? { promptTokens: 0, completionTokens: state.deltas },
    finishReason: state.finishReason ?? 'stop',
  };
  const calls = [...(state.toolCalls?.entries() ?? [])].sort(([a], [b]) => a - b).map(([, c]) => c);
  if (calls.length) r.toolCalls = calls;
  if (state.logprobs !== undefined) r.logprobs = state.logprobs;
  return r;
}

async function readWhole(
  ctx: ErrorContext,
  res: AnswerResponse,
  signal: AbortSignal,
  decoder: WireDecoder,
  onDelta?: (text: string) => void,
  onToolCallDelta?: (delta: ToolCallDelta) => void,
): Promise<GenerateResult> {
  let body: string;
  try {
    body = await res.text();
  } catch (e) {
    if (signal.aborted) throw cancelledError(ctx, signal);
    const code = networkErrorCode(e);
    throw interrupted(ctx, `the connection broke while reading the response${code === undefined ? '' : ` (${code})`}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw interrupted(ctx, `unparseable response body ${JSON.stringify(body.slice(0, MAX_CHUNK_QUOTE_CHARS))}`);
  }
  const whole = decoder.whole(json);
  if (whole.text !== '') onDelta?.(whole.text);
  for (const [index, call] of (whole.toolCalls ?? []).entries()) onToolCallDelta?.({ index, ...call });
  const r: GenerateResult = {
    text: whole.text,
    usage: whole.usage ?? {
      promptTokens: 0,
      completionTokens: Math.ceil(whole.text.length / CHARS_PER_TOKEN_ESTIMATE),
    },
    finishReason: whole.finishReason ?? 'stop',
  };
  if (whole.toolCalls?.length) r.toolCalls = whole.toolCalls;
  if (whole.logprobs !== undefined) r.logprobs = whole.logprobs;
  return r;
}

function interrupted(ctx: ErrorContext, why: string): ProviderError {
  return new ProviderError('stream_interrupted', redact(`${ctx.label}: stream interrupted: ${why}`, ctx.secrets()));
}
