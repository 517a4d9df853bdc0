// A scripted OpenAI-compatible server inside the extension host: the daemon's cloud provider talks
// to it over real HTTP, so the tests see exactly what reached the wire (the Authorization header,
// the prompt, the FIM suffix) and decide what comes back (a text, a 401 quoting the key, a 429).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as vscode from 'vscode';

export const FAKE_TEXT = 'FAKE_COMPLETION';

/**
 * What one model answers: a text, a 401 quoting the key, a 429 with Retry-After, or nothing until the caller
 * gives up.
 */
export type Behaviour =
  | {
      kind: 'ok';
      text?: string;
      /** The answer waits for this (the test decides when the model is done). */ after?: Promise<void>;
    }
  | { kind: 'deny' }
  | { kind: 'rate_limited'; retryAfterS: number }
  | { kind: 'hang' }
  /**
   * Asks for `tool` (streamed in pieces, finish_reason "tool_calls") until the request carries a tool
   * result; then answers `text` followed by that result.
   */
  | { kind: 'tool'; tool: string; arguments: string; text: string }
  /** Starts answering `text`, then the connection drops (a model that fails part-way). */
  | { kind: 'cut'; text: string };

export interface SeenRequest {
  path: string;
  model: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

export class FakeCloud {
  readonly seen: SeenRequest[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private server: http.Server | undefined;
  private readonly requested = new vscode.EventEmitter<SeenRequest>();
  /** A completion request arrived (already in `seen`). */
  readonly onRequest = this.requested.event;
  /** Requests whose connection the daemon closed before the answer ended (a cancel). */
  readonly aborted: SeenRequest[] = [];
  private readonly abortedEmitter = new vscode.EventEmitter<SeenRequest>();
  readonly onAbort = this.abortedEmitter.event;

  constructor(readonly models: readonly string[]) {}

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/v1`;
  }

  behave(model: string, b: Behaviour): void {
    this.behaviours.set(model, b);
  }

  /** Requests for completions (not model listing) of one model. */
  calls(model: string): SeenRequest[] {
    return this.seen.filter((r) => r.model === model);
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = req.url ?? '';
    if (req.method === 'GET' && path.endsWith('/models')) {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ data: this.models.map((id) => ({ id })) }));
      return;
    }
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      /* recorded as {} */
    }
    const model = typeof body.model === 'string' ? body.model : '';
    const authorization = req.headers.authorization;
    const seen = { path, model, authorization, body };
    this.seen.push(seen);
    this.requested.fire(seen);
    const b = this.behaviours.get(model) ?? { kind: 'ok' };
    if (b.kind === 'deny') {
      // Like OpenAI: the 401 body quotes the key it got. The daemon must redact it everywhere.
      const quoted = authorization?.replace(/^Bearer\s+/i, '') ?? '(none)';
      res.writeHead(401, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: {
            message: `Incorrect API key provided: ${quoted}.`,
            type: 'invalid_request_error',
            code: 'invalid_api_key',
          },
        }),
      );
      return;
    }
    if (b.kind === 'hang') {
      // Headers only, then silence: the request ends when the daemon aborts it (a cancel) or stop().
      res.on('close', () => {
        if (res.writableEnded) return;
        this.aborted.push(seen);
        this.abortedEmitter.fire(seen);
      });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      return;
    }
    if (b.kind === 'rate_limited') {
      res
        .writeHead(429, { 'content-type': 'application/json', 'retry-after': String(b.retryAfterS) })
        .end(JSON.stringify({ error: { message: 'Rate limit reached', type: 'rate_limit_error' } }));
      return;
    }
    if (b.kind === 'cut') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: b.text } }] })}\n\n`);
      setTimeout(() => res.destroy(), 50);
      return;
    }
    if (b.kind === 'tool') {
      this.toolAnswer(res, b, body);
      return;
    }
    if (b.after) await b.after;
    const text = b.text ?? FAKE_TEXT;
    const completion = path.endsWith('/completions') && !path.endsWith('/chat/completions');
    const choice = completion ? { index: 0, text } : { index: 0, delta: { content: text } };
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: ${JSON.stringify({ choices: [choice] })}\n\n`);
    res.write(
      `data: ${JSON.stringify({ choices: [{ index: 0, ...(completion ? { text: '' } : { delta: {} }), finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 2 } })}\n\n`,
    );
    res.end('data: [DONE]\n\n');
  }

  private toolAnswer(
    res: http.ServerResponse,
    b: Extract<Behaviour, { kind: 'tool' }>,
    body: Record<string, unknown>,
  ): void {
    const messages = Array.isArray(body.messages) ? (body.messages as Record<string, unknown>[]) : [];
    const result = messages.find((m) => m.role === 'tool');
    const send = (delta: Record<string, unknown>, finish?: string): void => {
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish ?? null }] })}\n\n`);
    };
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (result) {
      send({ content: `${b.text} ` });
      send({ content: String(result.content) });
      send({}, 'stop');
    } else {
      const half = Math.floor(b.arguments.length / 2);
      send({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: b.tool, arguments: '' } }] });
      send({ tool_calls: [{ index: 0, function: { arguments: b.arguments.slice(0, half) } }] });
      send({ tool_calls: [{ index: 0, function: { arguments: b.arguments.slice(half) } }] });
      send({}, 'tool_calls');
    }
    res.end('data: [DONE]\n\n');
  }
}
