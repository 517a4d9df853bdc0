// stdio / node-IPC transport: the LSP base protocol through vscode-languageserver, as the VS Code
// client (vscode-languageclient) and `backstop serve --stdio` speak it.
import {
  createConnection, IPCMessageReader, IPCMessageWriter, ResponseError, StreamMessageReader, StreamMessageWriter,
  type CancellationToken, type Connection,
} from 'vscode-languageserver/node';
import type { NotificationType } from 'vscode-languageserver-protocol';
import { ErrorCodes } from '../../protocol/errors';
import type { Logger } from '../core/types';
import type { HandlerTable, PeerSet } from '../rpc';
import { RpcError, toRpcError } from '../rpcError';

export interface LspOptions {
  mode: 'stdio' | 'ipc';
  version: string;
  /** The client's initializationOptions (the VS Code settings), applied before any request is served. */
  onInitialize?: (initializationOptions: unknown) => Promise<void> | void;
  onClose: () => void;
}

export function startLspServer(table: HandlerTable, peers: PeerSet, opts: LspOptions, logger: Logger): Connection {
  const conn =
    opts.mode === 'ipc'
      ? createConnection(new IPCMessageReader(process), new IPCMessageWriter(process))
      : createConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));

  conn.onInitialize(async (params) => {
    try {
      await opts.onInitialize?.(params.initializationOptions);
    } catch (e) {
      const err = toRpcError(e);
      throw new ResponseError(err.code, err.message, err.data);
    }
    return { capabilities: {}, serverInfo: { name: 'backstop', version: opts.version } };
  });

  for (const method of table.methods()) {
    // vscode-jsonrpc calls (params, token), or (token) alone when the request had no params.
    conn.onRequest(method, async (...args: unknown[]) => {
      const token = args[args.length - 1] as CancellationToken;
      const params = args.length > 1 ? args[0] : undefined;
      const ac = new AbortController();
      const sub = token.onCancellationRequested(() => ac.abort(new RpcError(ErrorCodes.RequestCancelled, 'request cancelled')));
      try {
        return await table.call(method, params, { signal: ac.signal, peer });
      } catch (e) {
        const err = toRpcError(e);
        throw new ResponseError(err.code, err.message, err.data);
      } finally {
        sub.dispose();
      }
    });
  }
  // Unknown methods: vscode-jsonrpc answers MethodNotFound itself.

  const peer = {
    id: `lsp-${opts.mode}`,
    notify<P>(type: NotificationType<P>, params: P) {
      void conn.sendNotification(type.method, params).catch(() => undefined);
    },
  };
  const remove = peers.add(peer);
  conn.onShutdown(() => logger.info('client asked the daemon to shut down'));
  conn.onExit(() => {
    remove();
    opts.onClose();
  });
  // The parent went away without `exit` (pipe closed): stop too, as a managed child should.
  if (opts.mode === 'stdio') process.stdin.on('end', () => opts.onClose());
  else process.on('disconnect', () => opts.onClose());
  conn.listen();
  return conn;
}
