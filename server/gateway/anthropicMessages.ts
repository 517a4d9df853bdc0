// The Anthropic Messages endpoint (`POST /v1/messages`, `POST /v1/messages/count_tokens`): Claude Code
// and every @anthropic-ai/sdk client get the chain, whatever wire formats its models speak. Answers use
// Anthropic's shapes: the message object, the streamed event sequence, and `{type:"error"}` bodies.
import crypto from 'node:crypto';
import type http from 'node:http';
import { ErrorCodes } from '../../protocol/errors';
import type { CompleteResult, ToolCallDelta } from '../../protocol/types';
import { estimateContextTokens } from '../core/requirements';
import { Cancel } from '../core/cancel';
import { RpcError, toRpcError } from '../rpc/rpcError';
import { BodyTooLarge, readBody, sendJson } from '../transports/httpIo';
import { messagesParams, messagesSchema, stopReason, toolInput, type MessagesRequest } from './anthropicRequest';
import { chainFor } from './chainFor';
import { gatewayContext } from './requestContext';
import { backstopDetail, gatewayFailure } from './errors';
import type { GatewayDeps } from './deps';
import { explainIssue } from './openaiRequest';
import { explainHeaders } from './explain';

const ERROR_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  499: 'api_error',
  500: 'api_error',
  504: 'api_error',
  529: 'overloaded_error',
};

export function anthropicError(status: number, message: string, extra: Record<string, unknown> = {}): unknown {
  return { type: 'error', error: { type: ERROR_TYPE[status] ?? 'api_error', message }, ...extra };
}

async function readRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  deps: GatewayDeps,
): Promise<MessagesRequest | undefined> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readBody(req, deps.services.state.config.server.maxMessageBytes));
  } catch (e) {
    if (e instanceof BodyTooLarge) sendJson(res, 413, anthropicError(413, e.message), { connection: 'close' });
    else sendJson(res, 400, anthropicError(400, `invalid request body: ${(e as Error).message}`));
    return undefined;
  }
  const parsed = messagesSchema.safeParse(raw);
  if (!parsed.success) {
    const i = explainIssue(parsed.error.issues);
    sendJson(res, 400, anthropicError(400, `${i.path}: ${i.message}`));
    return undefined;
  }
  return parsed.data;
}

/** POST /v1/messages/count_tokens: an estimate (≈ 4 characters a token) — no upstream is asked. */
export async function handleCountTokens(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  deps: GatewayDeps,
): Promise<void> {
  const body = await readRequest(req, res, deps);
  if (!body) return;
  const p = messagesParams(body, []);
  sendJson(res, 200, { input_tokens: estimateContextTokens({ ...p, maxTokens: 0 }) });
}

export async function handleMessages(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  deps: GatewayDeps,
): Promise<void> {
  const { services: s, completions } = deps;
  const body = await readRequest(req, res, deps);
  if (!body) return;
  const context = gatewayContext(req.headers);
  if (!context.ok) return sendJson(res, 400, anthropicError(400, context.message));
  let chain: string[];
  try {
    chain = chainFor(s, completions, { model: body.model, purpose: context.value.purpose });
  } catch (e) {
    const err = toRpcError(e);
    return sendJson(
      res,
      404,
      anthropicError(404, `${err.message}. Use "backstop" for the configured chain; GET /v1/models lists the models.`),
    );
  }
  const params = { ...messagesParams(body, chain), ...context.value };
  // The client's connection: closed before the answer, the request is cancelled (a Cancel: no
  // AbortController per request, issue 21).
  const ac = new Cancel();
  res.on('close', () => {
    if (!res.writableEnded) ac.abort(new RpcError(ErrorCodes.RequestCancelled, 'client disconnected'));
  });
  const id = `msg_${crypto.randomUUID().replace(/-/g, '')}`;

  if (!body.stream) {
    try {
      const r = await completions.complete(params, ac, { upstreamStream: false });
      return sendJson(res, 200, messageBody(id, r), explainHeaders(r));
    } catch (e) {
      return sendFailure(res, e);
    }
  }

  const events = new EventWriter(res, id);
  const mode = s.state.config.gateway.streamFailover;
  let attemptsEnded = 0;
  let sent = false;
  const commit = (model: string) =>
    events.start(model, {
      'x-backstop-model': model,
      'x-backstop-fallback': chain[0] !== undefined && chain[0] !== model ? `${chain[0]} -> ${model}` : 'none',
      'x-backstop-attempts': String(attemptsEnded + 1),
    });
  const breakStream = () => {
    if (events.broken) return;
    events.fail(
      'the stream failed after part of the answer was sent (gateway.streamFailover is "error"); the next model would have to start over, so the stream ends here: discard the partial answer and retry the request',
    );
    ac.abort(new RpcError(ErrorCodes.RequestCancelled, 'stream ended with an error'));
  };
  try {
    const r = await completions.complete(
      params,
      ac,
      mode === 'error'
        ? {
            onDelta: (delta, model) => {
              if (events.broken) return;
              commit(model);
              events.text(delta);
              sent = true;
            },
            onToolCallDelta: (d, model) => {
              if (events.broken) return;
              commit(model);
              events.tool(d);
              sent = true;
            },
            onReset: () => breakStream(),
            onAttempt: () => {
              attemptsEnded++;
            },
            onFallback: () => {
              if (sent) breakStream();
            },
          }
        : {},
    );
    if (events.broken) return;
    commit(r.modelUsed);
    if (mode === 'buffer') {
      if (r.text !== '') events.text(r.text);
      for (const [index, c] of (r.toolCalls ?? []).entries())
        events.tool({ index, id: c.id, name: c.name, arguments: c.arguments });
    }
    events.finish(r);
  } catch (e) {
    if (events.broken) return;
    if (!events.started) return sendFailure(res, e);
    const f = gatewayFailure(e);
    events.fail(f.message);
  }
}

function messageBody(id: string, r: CompleteResult): Record<string, unknown> {
  const content: Record<string, unknown>[] = [];
  if (r.text !== '' || !r.toolCalls?.length) content.push({ type: 'text', text: r.text });
  for (const c of r.toolCalls ?? [])
    content.push({ type: 'tool_use', id: c.id, name: c.name, input: toolInput(c.arguments) });
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: r.modelUsed,
    content,
    stop_reason: stopReason(r.finishReason),
    stop_sequence: null,
    usage: { input_tokens: r.usage?.promptTokens ?? 0, output_tokens: r.usage?.completionTokens ?? 0 },
    backstop: { fallbackOccurred: r.fallbackOccurred, attempts: r.attempts, ...(r.mock ? { mock: true } : {}) },
  };
}

function sendFailure(res: http.ServerResponse, e: unknown): void {
  const f = gatewayFailure(e);
  sendJson(res, f.status, anthropicError(f.status, f.message, { backstop: backstopDetail(f) }), f.headers);
}

/** Anthropic's event stream: message_start, content blocks (text or tool_use), message_delta, message_stop. */
class EventWriter {
  started = false;
  broken = false;
  private block: { index: number; kind: 'text' | 'tool'; toolIndex?: number } | undefined;
  private nextIndex = 0;

  constructor(
    private readonly res: http.ServerResponse,
    private readonly id: string,
  ) {}

  private send(event: string, data: Record<string, unknown>): void {
    this.res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
  }

  start(model: string, headers: Record<string, string>): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      ...headers,
    });
    this.send('message_start', {
      message: {
        id: this.id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0 },
      },
    });
  }

  private close(): void {
    if (!this.block) return;
    this.send('content_block_stop', { index: this.block.index });
    this.block = undefined;
  }

  text(delta: string): void {
    if (this.block?.kind !== 'text') {
      this.close();
      this.block = { index: this.nextIndex++, kind: 'text' };
      this.send('content_block_start', { index: this.block.index, content_block: { type: 'text', text: '' } });
    }
    this.send('content_block_delta', { index: this.block.index, delta: { type: 'text_delta', text: delta } });
  }

  tool(d: ToolCallDelta): void {
    if (this.block?.kind !== 'tool' || this.block.toolIndex !== d.index) {
      this.close();
      this.block = { index: this.nextIndex++, kind: 'tool', toolIndex: d.index };
      this.send('content_block_start', {
        index: this.block.index,
        content_block: { type: 'tool_use', id: d.id ?? `toolu_${d.index}`, name: d.name ?? '', input: {} },
      });
    }
    if (d.arguments)
      this.send('content_block_delta', {
        index: this.block.index,
        delta: { type: 'input_json_delta', partial_json: d.arguments },
      });
  }

  finish(r: CompleteResult): void {
    if (this.nextIndex === 0) this.text('');
    this.close();
    this.send('message_delta', {
      delta: { stop_reason: stopReason(r.finishReason), stop_sequence: null },
      usage: { output_tokens: r.usage?.completionTokens ?? 0 },
    });
    this.send('message_stop', {});
    this.res.end();
  }

  fail(message: string): void {
    this.broken = true;
    this.send('error', { error: { type: 'api_error', message } });
    this.res.end();
  }
}
