// The one place a JSON-RPC connection meets the handler table, for every transport: stdio and IPC
// (vscode-languageserver's connection), WebSocket and HTTP (vscode-jsonrpc over frames.ts), and the
// CLI's embedded daemon (an in-process pair).
import {
  createMessageConnection,
  ResponseError,
  type CancellationToken,
  type Disposable,
  type Logger as RpcLogger,
  type MessageConnection,
  type MessageReader,
  type MessageWriter,
  type StarNotificationHandler,
  type StarRequestHandler,
} from 'vscode-jsonrpc/node';
import type { NotificationType } from 'vscode-languageserver-protocol';
import { ErrorCodes } from '../../protocol/errors';
import type { Logger } from '../core/types';
import type { CallContext, Peer } from '../rpc/handlerTable';
import { RpcError, toRpcError } from '../rpc/rpcError';

/** What of the handler table a transport uses. */
export interface Table {
  has(method: string): boolean;
  call(method: string, params: unknown, ctx: CallContext): Promise<unknown>;
}

/** What of a connection the table needs: vscode-jsonrpc's MessageConnection and the LSP Connection both fit. */
export interface RpcEndpoint {
  onRequest(handler: StarRequestHandler): Disposable;
  onNotification(handler: StarNotificationHandler): Disposable;
}

export interface Served {
  dispose(): void;
}

/**
 * Serve the table on a connection. Requests and notifications go through catch-all handlers, so
 * params reach the table as sent (vscode-jsonrpc spreads array params over a named handler's
 * arguments) and a method registered after this call is served too. Cancellation ($/cancelRequest)
 * aborts the call's signal; errors go out as { code, message, data }; unknown methods are -32601.
 */
export function serveTable(conn: RpcEndpoint, table: Table, peer: Peer, logger: Logger): Served {
  const inflight = new Set<AbortController>();
  const subs = [
    conn.onRequest(async (method: string, params: unknown, token: CancellationToken) => {
      const ac = new AbortController();
      const cancel = () => ac.abort(new RpcError(ErrorCodes.RequestCancelled, 'request cancelled'));
      if (token.isCancellationRequested) cancel();
      const sub = token.onCancellationRequested(cancel);
      inflight.add(ac);
      try {
        return (await table.call(method, params, { signal: ac.signal, peer })) ?? null;
      } catch (e) {
        const err = toRpcError(e);
        throw new ResponseError(err.code, err.message, err.data);
      } finally {
        sub.dispose();
        inflight.delete(ac);
      }
    }),
    // Notifications the table does not know ($/setTrace, LSP's `initialized`, …) are ignored, as before.
    conn.onNotification((method: string, params: unknown) => {
      if (!table.has(method)) return;
      table.call(method, params, { signal: new AbortController().signal, peer }).catch((e: unknown) => {
        logger.debug(`notification ${method} failed: ${toRpcError(e).message}`);
      });
    }),
  ];
  return {
    dispose() {
      for (const s of subs) s.dispose();
      for (const ac of inflight) ac.abort(new RpcError(ErrorCodes.RequestCancelled, 'connection closed'));
      inflight.clear();
    },
  };
}

export interface Notifier {
  sendNotification(method: string, params?: unknown): Promise<void>;
}

/** A peer whose notifications go out on the connection; a connection already gone drops them. */
export function connectionPeer(id: string, conn: Notifier): Peer {
  return {
    id,
    notify<P>(type: NotificationType<P>, params: P) {
      try {
        conn.sendNotification(type.method, params).catch(() => undefined);
      } catch {
        // disposed connection: the transport removes the peer
      }
    },
  };
}

/** vscode-jsonrpc's own complaints (unhandled responses, write failures) at debug level. */
export function rpcLogger(logger: Logger): RpcLogger {
  return {
    error: (m) => logger.debug(`json-rpc: ${m}`),
    warn: (m) => logger.debug(`json-rpc: ${m}`),
    info: (m) => logger.debug(`json-rpc: ${m}`),
    log: (m) => logger.debug(`json-rpc: ${m}`),
  };
}

export interface ServedConnection extends Served {
  readonly connection: MessageConnection;
  readonly peer: Peer;
}

/**
 * A vscode-jsonrpc connection over any reader/writer pair, serving the table. `peer`: how
 * notifications reach this caller — by default over the connection itself.
 */
export function serveConnection(
  reader: MessageReader,
  writer: MessageWriter,
  table: Table,
  logger: Logger,
  peer: string | Peer,
): ServedConnection {
  const connection = createMessageConnection(reader, writer, rpcLogger(logger));
  const p = typeof peer === 'string' ? connectionPeer(peer, connection) : peer;
  const served = serveTable(connection, table, p, logger);
  connection.listen();
  return {
    connection,
    peer: p,
    dispose() {
      served.dispose();
      connection.dispose();
    },
  };
}
