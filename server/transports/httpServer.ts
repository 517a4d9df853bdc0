// HTTP listener: the OpenAI-compatible gateway (/v1/…) and JSON-RPC over HTTP (POST /rpc), both
// behind the bearer token and the Origin check, with a body size limit.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NotificationType } from 'vscode-languageserver-protocol';
import type { Logger } from '../core/types';
import { handleGateway } from '../gateway/openaiGateway';
import type { HandlerTable } from '../rpc';
import type { Services } from '../services';
import { checkRequest } from './auth';
import { JsonRpcSession } from './jsonRpc';

export interface HttpOptions { port: number; host: string; token: string }

export class BodyTooLarge extends Error {}

export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let over = false;
    // Past the limit, keep reading (and dropping) the body so the 413 can still be sent back.
    req.on('data', (c: Buffer) => {
      if (over) return;
      n += c.length;
      if (n > maxBytes) {
        over = true;
        chunks.length = 0;
        reject(new BodyTooLarge(`request body exceeds ${maxBytes} bytes (server.maxMessageBytes)`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => { if (!over) resolve(Buffer.concat(chunks).toString('utf8')); });
    req.on('error', reject);
  });
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end();
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
}

export const openAiError = (message: string, type: string, code: string | null, param: string | null = null) => ({ error: { message, type, param, code } });

export async function startHttpServer(table: HandlerTable, s: Services, opts: HttpOptions, logger: Logger): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    void route(req, res).catch((e: unknown) => {
      logger.error(`http ${req.method} ${req.url}: ${(e as Error).message}`);
      sendJson(res, 500, openAiError(`internal error: ${(e as Error).message}`, 'server_error', 'internal_error'));
    });
  });

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const auth = checkRequest(req, opts.token, s.state.config.server.allowedOrigins);
    if (!auth.ok) {
      return sendJson(res, auth.status, openAiError(auth.reason, auth.status === 401 ? 'invalid_request_error' : 'permission_error', auth.status === 401 ? 'invalid_api_key' : 'origin_not_allowed'));
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/rpc') {
      if (req.method !== 'POST') return sendJson(res, 405, openAiError('use POST /rpc with a JSON-RPC message', 'invalid_request_error', 'method_not_allowed'));
      let body: string;
      try {
        body = await readBody(req, s.state.config.server.maxMessageBytes);
      } catch (e) {
        return sendJson(res, 413, openAiError((e as Error).message, 'invalid_request_error', 'body_too_large'), { connection: 'close' });
      }
      const peer = { id: 'http-rpc', notify<P>(_t: NotificationType<P>, _p: P) { /* no channel back over plain HTTP */ } };
      const session = new JsonRpcSession(table, peer, s.state.config.server.maxMessageBytes);
      // The caller hung up: abort whatever its request started.
      res.on('close', () => { if (!res.writableEnded) session.close(); });
      const reply = await session.handleFrame(body);
      if (reply === undefined) return void res.writeHead(204).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(reply);
      return;
    }
    if (url.pathname.startsWith('/v1/')) return handleGateway(req, res, url, s);
    sendJson(res, 404, openAiError(`no route ${req.method} ${url.pathname}: the gateway serves /v1/chat/completions, /v1/completions, /v1/models and JSON-RPC at /rpc`, 'invalid_request_error', 'not_found'));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
