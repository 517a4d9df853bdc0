// WebSocket transport: one JSON-RPC message per text frame, Host, bearer token and Origin checked at
// the upgrade, oversized and malformed frames answered with an error — the daemon keeps serving.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../core/types';
import type { PeerSet } from '../rpc/handlerTable';
import { checkHost, checkRequest } from './auth';
import { serveConnection, type Table } from './serveTable';
import { wsServerChannel } from './wsChannel';
import { wsModule } from './wsModule';

export interface WsOptions {
  port: number;
  host: string;
  token: string;
  allowedOrigins: () => readonly string[];
  /** Hosts accepted besides loopback with the bound port (server.allowedHosts). */
  allowedHosts?: () => readonly string[];
  /** The Host names (besides loopback) that reach this listener: the bound address's. */
  hostNames?: readonly string[];
  /** Bound beyond loopback: the daemon token works only from this machine. */
  shared?: boolean;
  maxBytes: () => number;
}

let nextPeer = 0;
const NO_KEYS = { lookup: () => undefined };
const STATUS_TEXT = { 401: 'Unauthorized', 403: 'Forbidden', 421: 'Misdirected Request' } as const;

export async function startWsServer(
  table: Table,
  peers: PeerSet,
  opts: WsOptions,
  logger: Logger,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res
      .writeHead(426, { 'content-type': 'text/plain' })
      .end('Backstop WebSocket endpoint: connect with a WebSocket client\n');
  });
  // ws enforces a hard ceiling; frames between the limit and the ceiling get a JSON-RPC error instead.
  // Made (and ws loaded) by the first upgrade.
  let wss: WebSocketServer | undefined;

  server.on('upgrade', (req, socket, head) => {
    // Node drops its own error handler on an upgraded socket: without one, a client resetting the
    // connection during a refusal would be an unhandled 'error' and end the daemon.
    socket.on('error', (e) => logger.debug(`websocket upgrade socket: ${e.message}`));
    const host = checkHost(req, port, opts.allowedHosts?.() ?? [], opts.hostNames);
    // JSON-RPC drives the whole daemon: API keys, made for the gateway, never open it (no key matches).
    const creds = opts.shared ? { token: opts.token, keys: NO_KEYS } : { token: opts.token };
    const auth = host.ok ? checkRequest(req, creds, opts.allowedOrigins()) : host;
    if (!auth.ok) {
      logger.warn(`websocket refused (${auth.status}): ${auth.reason}`);
      const status = `${auth.status} ${STATUS_TEXT[auth.status]}`;
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${auth.reason}\n`);
      return;
    }
    const upgrader = (wss ??= new (wsModule().WebSocketServer)({ noServer: true, maxPayload: opts.maxBytes() * 2 }));
    upgrader.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
  });

  function onConnection(ws: WebSocket): void {
    const channel = wsServerChannel(ws, opts.maxBytes);
    const served = serveConnection(channel.reader, channel.writer, table, logger, `ws-${++nextPeer}`);
    const remove = peers.add(served.peer);
    ws.on('error', (e) => logger.warn(`websocket ${served.peer.id}: ${e.message}`));
    // The connection is gone: abort everything it started.
    ws.on('close', () => {
      remove();
      served.dispose();
    });
  }

  let port = opts.port;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss?.clients ?? []) c.terminate();
        wss?.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
