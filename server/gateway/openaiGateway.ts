// The OpenAI-compatible gateway: any tool that speaks OpenAI gets the fallback chain.
// A stream is never cut into a success, and a fallback never continues a dead stream with the
// partial answer as an assistant prefill: the next model starts over.
import crypto from 'node:crypto';
import type http from 'node:http';
import { ErrorCodes } from '../../protocol/errors';
import type { CompleteParams, CompleteResult, ToolCallDelta } from '../../protocol/types';
import { Cancel } from '../core/cancel';
import { RpcError, toRpcError } from '../rpc/rpcError';
import type { GatewayDeps } from './deps';
import { BodyTooLarge, openAiError, readBody, sendJson } from '../transports/httpIo';
import { chainFor } from './chainFor';
import { gatewayContext } from './requestContext';
import { backstopDetail, gatewayFailure } from './errors';
import {
  chatParams,
  chatSchema,
  completionParams,
  completionSchema,
  explainIssue,
  type ChatRequest,
  type CompletionRequest,
} from './openaiRequest';
import { explainHeaders } from './explain';

/** POST /v1/chat/completions (`chat`) and POST /v1/completions (`text`). */
export async function handleOpenAi(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  kind: 'chat' | 'text',
  { services: s, completions }: GatewayDeps,
): Promise<void> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readBody(req, s.state.config.server.maxMessageBytes));
  } catch (e) {
    if (e instanceof BodyTooLarge)
      return sendJson(res, 413, openAiError(e.message, 'invalid_request_error', 'body_too_large'), {
        connection: 'close',
      });
    return sendJson(
      res,
      400,
      openAiError(`invalid request body: ${(e as Error).message}`, 'invalid_request_error', 'invalid_body'),
    );
  }
  const parsed = kind === 'chat' ? chatSchema.safeParse(raw) : completionSchema.safeParse(raw);
  if (!parsed.success) {
    const i = explainIssue(parsed.error.issues);
    return sendJson(
      res,
      400,
      openAiError(`invalid request: ${i.path}: ${i.message}`, 'invalid_request_error', 'invalid_value', i.path),
    );
  }
  const body = parsed.data;
  const context = gatewayContext(req.headers);
  if (!context.ok)
    return sendJson(
      res,
      400,
      openAiError(`invalid request: ${context.message}`, 'invalid_request_error', 'invalid_header'),
    );
  let chain: string[];
  try {
    chain = chainFor(s, completions, {
      model: body.model ?? body.models?.[0] ?? 'backstop',
      purpose: context.value.purpose,
      ...(body.models != null ? { models: body.models } : {}),
      ...(body.fallbacks != null ? { fallbacks: body.fallbacks } : {}),
    });
  } catch (e) {
    const err = toRpcError(e);
    return sendJson(
      res,
      400,
      openAiError(
        `${err.message}. Use "backstop" for the configured chain; GET /v1/models lists the models.`,
        'invalid_request_error',
        'model_not_found',
        'model',
      ),
    );
  }
  const params: CompleteParams = {
    ...(kind === 'chat' ? chatParams(body as ChatRequest, chain) : completionParams(body as CompletionRequest, chain)),
    ...context.value,
  };

  // The client's connection: closed before the answer, the request is cancelled (a Cancel: no
  // AbortController per request, issue 21).
  const ac = new Cancel();
  res.on('close', () => {
    if (!res.writableEnded) ac.abort(new RpcError(ErrorCodes.RequestCancelled, 'client disconnected'));
  });
  const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${crypto.randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);

  if (!body.stream) {
    try {
      // The client wants the answer in one piece: so does the upstream (no stream to reassemble).
      const r = await completions.complete(params, ac, { upstreamStream: false });
      return sendJson(
        res,
        200,
        kind === 'chat' ? chatBody(id, created, r) : textBody(id, created, r),
        explainHeaders(r),
      );
    } catch (e) {
      return sendError(res, e);
    }
  }
  const mode = s.state.config.gateway.streamFailover;
  const sse = new SseWriter(res);
  const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  const chunk = (model: string, text: string | null, finish: string | null, extra: Record<string, unknown> = {}) =>
    kind === 'chat'
      ? {
          id,
          object,
          created,
          model,
          choices: [
            { index: 0, delta: text === null ? {} : { role: 'assistant', content: text }, finish_reason: finish },
          ],
          ...extra,
        }
      : { id, object, created, model, choices: [{ index: 0, text: text ?? '', finish_reason: finish }], ...extra };
  const toolChunk = (model: string, d: ToolCallDelta) => ({
    id,
    object,
    created,
    model,
    choices: [{ index: 0, delta: { role: 'assistant', tool_calls: [openAiToolCallDelta(d)] }, finish_reason: null }],
  });
  let broken = false;
  let sent = false;
  let attemptsEnded = 0;
  const breakStream = (model: string) => {
    // Content already reached the client and that attempt died: say so, never [DONE].
    if (broken) return;
    broken = true;
    sse.data(
      openAiError(
        `the stream failed after part of the answer was sent (gateway.streamFailover is "error"); ${model} would have to start over, so the stream ends here: discard the partial answer and retry the request`,
        'server_error',
        'stream_interrupted',
      ),
    );
    sse.end();
    ac.abort(new RpcError(ErrorCodes.RequestCancelled, 'stream ended with an error'));
  };
  // The first piece commits the response: its headers can only name the model streaming now.
  const commit = (model: string) => {
    if (sse.started) return;
    sse.start({
      'x-backstop-model': model,
      'x-backstop-fallback': chain[0] !== undefined && chain[0] !== model ? `${chain[0]} -> ${model}` : 'none',
      'x-backstop-attempts': String(attemptsEnded + 1),
    });
  };
  try {
    const r = await completions.complete(
      params,
      ac,
      mode === 'error'
        ? {
            onDelta: (delta, model) => {
              if (broken) return;
              commit(model);
              sse.data(chunk(model, delta, null));
              sent = true;
            },
            // A tool call streams like text: once a piece is out, a failure ends the stream with an
            // error, so a half call can never pass for a complete one.
            onToolCallDelta: (d, model) => {
              if (broken) return;
              commit(model);
              sse.data(toolChunk(model, d));
              sent = true;
            },
            onReset: (model) => breakStream(model),
            onAttempt: () => {
              attemptsEnded++;
            },
            // End the stream as soon as the attempt that sent content dies, not when the next model
            // produces its first token: the client learns at once and no fallback is paid for.
            onFallback: (_from, to) => {
              if (sent) breakStream(to);
            },
          }
        : {},
    );
    if (broken) return;
    if (!sse.started) sse.start(explainHeaders(r));
    if (mode === 'buffer') {
      if (r.text !== '' || !r.toolCalls?.length) sse.data(chunk(r.modelUsed, r.text, null));
      for (const [index, c] of (r.toolCalls ?? []).entries())
        sse.data(toolChunk(r.modelUsed, { index, id: c.id, name: c.name, arguments: c.arguments }));
    }
    const usage = usageOf(r);
    const trace = {
      backstop: { fallbackOccurred: r.fallbackOccurred, attempts: r.attempts, ...(r.mock ? { mock: true } : {}) },
    };
    // OpenAI's shape: with include_usage, a last chunk with empty choices carries usage. Without
    // it, usage rides on the finish chunk, so it is always present yet no client meets an empty
    // `choices` it did not ask for.
    if (body.stream_options?.include_usage) {
      sse.data(chunk(r.modelUsed, null, r.finishReason ?? 'stop', trace));
      sse.data({ id, object, created, model: r.modelUsed, choices: [], usage });
    } else {
      sse.data(chunk(r.modelUsed, null, r.finishReason ?? 'stop', { usage, ...trace }));
    }
    sse.done();
  } catch (e) {
    if (broken) return;
    if (!sse.started) return sendError(res, e);
    const err = toRpcError(e);
    sse.data({
      ...openAiError(err.message, 'server_error', err.data.kind),
      backstop: { attempts: err.data.attempts ?? [] },
    });
    sse.end();
  }
}

class SseWriter {
  started = false;
  private corked = false;
  private sentFirst = false;
  constructor(private readonly res: http.ServerResponse) {}
  start(headers: Record<string, string> = {}): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      ...headers,
    });
  }
  data(obj: unknown): void {
    this.start();
    const text = `data: ${JSON.stringify(obj)}\n\n`;
    // The first piece leaves at once, with the headers: the caller's time to first token does not wait
    // for the rest of an upstream read to be decoded (issue 21).
    if (!this.sentFirst) {
      this.sentFirst = true;
      this.res.write(text);
      return;
    }
    // Later pieces that arrive in one turn of the event loop (several upstream events in one read) leave
    // in one socket write: the response is corked until the turn ends.
    if (!this.corked) {
      this.corked = true;
      this.res.cork();
      process.nextTick(() => {
        this.corked = false;
        this.res.uncork();
      });
    }
    this.res.write(text);
  }
  done(): void {
    this.res.write('data: [DONE]\n\n');
    this.res.end();
  }
  end(): void {
    this.res.end();
  }
}

function usageOf(r: CompleteResult) {
  const p = r.usage?.promptTokens ?? 0;
  const c = r.usage?.completionTokens ?? 0;
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
}

function chatBody(id: string, created: number, r: CompleteResult) {
  return {
    id,
    object: 'chat.completion',
    created,
    model: r.modelUsed,
    choices: [
      {
        index: 0,
        message: r.toolCalls?.length
          ? {
              role: 'assistant',
              content: r.text === '' ? null : r.text,
              tool_calls: r.toolCalls.map((c) => ({
                id: c.id,
                type: 'function',
                function: { name: c.name, arguments: c.arguments },
              })),
            }
          : { role: 'assistant', content: r.text },
        finish_reason: r.finishReason ?? 'stop',
        logprobs: r.logprobs ?? null,
      },
    ],
    usage: usageOf(r),
    backstop: { fallbackOccurred: r.fallbackOccurred, attempts: r.attempts, ...(r.mock ? { mock: true } : {}) },
  };
}

function textBody(id: string, created: number, r: CompleteResult) {
  return {
    id,
    object: 'text_completion',
    created,
    model: r.modelUsed,
    choices: [{ index: 0, text: r.text, finish_reason: r.finishReason ?? 'stop', logprobs: r.logprobs ?? null }],
    usage: usageOf(r),
    backstop: { fallbackOccurred: r.fallbackOccurred, attempts: r.attempts, ...(r.mock ? { mock: true } : {}) },
  };
}

/** A tool-call piece in OpenAI's stream shape: id, type and name come with the first piece. */
function openAiToolCallDelta(d: ToolCallDelta): Record<string, unknown> {
  return {
    index: d.index,
    ...(d.id !== undefined ? { id: d.id, type: 'function' } : {}),
    function: {
      ...(d.name !== undefined ? { name: d.name } : {}),
      arguments: d.arguments ?? '',
    },
  };
}

const OPENAI_CODE: Record<string, string> = {
  context_overflow: 'context_length_exceeded',
  content_filter: 'content_filter',
};

function sendError(res: http.ServerResponse, e: unknown): void {
  const f = gatewayFailure(e);
  const type = f.status === 429 ? 'rate_limit_error' : f.status === 400 ? 'invalid_request_error' : 'server_error';
  const code = f.requestFault ? (OPENAI_CODE[f.requestFault] ?? 'invalid_request') : f.kind;
  sendJson(res, f.status, { ...openAiError(f.message, type, code), backstop: backstopDetail(f) }, f.headers);
}
