// HTTP listener: the OpenAI-compatible gateway (/v1/…) and JSON-RPC over HTTP (POST /rpc), both
// behind the Host check (421), the bearer token and the Origin check, with a body size limit.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/types';
import { handleGateway, type GatewayDeps } from '../gateway/router';
import { checkHost, checkRequest, type Credentials } from './auth';
import { openAiError, readBody, sendJson } from './httpIo';
import { httpRpc } from './httpRpc';
import type { Table } from './serveTable';

export interface HttpOptions {
  port: number;
  host: string;
  token: string;
  /** The Host names (besides loopback) that reach this listener: the bound address's. */
  hostNames?: readonly string[];
  /** Served beyond loopback: the per-user API keys. */
  shared?: { keys: NonNullable<Credentials['keys']> };
}

export async function startHttpServer(
  table: Table,
  gateway: GatewayDeps,
  opts: HttpOptions,
  logger: Logger,
): Promise<{ port: number; close(): Promise<void> }> {
  const s = gateway.services;
  const rpc = httpRpc(table, () => s.state.config.server.maxMessageBytes, logger);
  const creds: Credentials = { token: opts.token, ...(opts.shared ? { keys: opts.shared.keys } : {}) };
  /** A shared gateway logs each request with the name of the key that made it (never the key). */
  const accessLog = (req: http.IncomingMessage, res: http.ServerResponse, route: string, key: string | undefined) => {
    const t0 = performance.now();
    const who = key !== undefined ? `key "${key}"` : 'daemon token';
    res.once('finish', () =>
      logger.info(
        `gateway: ${who} ${req.method} ${route} → ${res.statusCode} in ${Math.round(performance.now() - t0)} ms`,
      ),
    );
  };
  const server = http.createServer((req, res) => {
    void route(req, res).catch((e: unknown) => {
      logger.error(`http ${req.method} ${req.url}: ${(e as Error).message}`);
      sendJson(res, 500, openAiError(`internal error: ${(e as Error).message}`, 'server_error', 'internal_error'));
    });
  });

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const host = checkHost(req, boundPort, s.state.config.server.allowedHosts ?? [], opts.hostNames);
    if (!host.ok) return sendJson(res, 421, openAiError(host.reason, 'invalid_request_error', 'misdirected_request'));
    const auth = checkRequest(req, creds, s.state.config.server.allowedOrigins);
    if (!auth.ok) {
      const [type, code] =
        auth.status === 401 ? ['invalid_request_error', 'invalid_api_key'] : ['permission_error', 'origin_not_allowed'];
      if (opts.shared)
        logger.info(
          `gateway: ${req.method} ${req.url?.split('?')[0]} from ${req.socket.remoteAddress} refused (${auth.status})`,
        );
      return sendJson(res, auth.status, openAiError(auth.reason, type, code));
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (opts.shared) accessLog(req, res, url.pathname, auth.key);
    if (url.pathname === '/rpc') {
      if (auth.key !== undefined) {
        const rpcNeedsToken = `key "${auth.key}" opens the gateway (/v1/…); JSON-RPC at /rpc needs the daemon token, on this machine`;
        return sendJson(res, 403, openAiError(rpcNeedsToken, 'permission_error', 'key_not_allowed'));
      }
      if (req.method !== 'POST') {
        const usePost = openAiError(
          'use POST /rpc with a JSON-RPC message',
          'invalid_request_error',
          'method_not_allowed',
        );
        return sendJson(res, 405, usePost);
      }
      let body: string;
      try {
        body = await readBody(req, s.state.config.server.maxMessageBytes);
      } catch (e) {
        const tooLarge = openAiError((e as Error).message, 'invalid_request_error', 'body_too_large');
        return sendJson(res, 413, tooLarge, { connection: 'close' });
      }
      return rpc.handle(body, res);
    }
    if (url.pathname.startsWith('/v1/')) return handleGateway(req, res, url, gateway);
    const routes = '/v1/chat/completions, /v1/completions, /v1/models and JSON-RPC at /rpc';
    const noRoute = `no route ${req.method} ${url.pathname}: the gateway serves ${routes}`;
    sendJson(res, 404, openAiError(noRoute, 'invalid_request_error', 'not_found'));
  }

  let boundPort = opts.port;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  boundPort = (server.address() as AddressInfo).port;
  return {
    port: boundPort,
    close: () =>
      new Promise<void>((resolve) => {
        rpc.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
