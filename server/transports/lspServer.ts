// stdio / node-IPC transport: the LSP base protocol through vscode-languageserver, as the VS Code
// client (vscode-languageclient) and `backstop serve --stdio` speak it.
import {
  createConnection,
  IPCMessageReader,
  IPCMessageWriter,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  type Connection,
} from 'vscode-languageserver/node';
import type { Logger } from '../core/types';
import type { PeerSet } from '../rpc/handlerTable';
import { toRpcError } from '../rpc/rpcError';
import { connectionPeer, serveTable, type Table } from './serveTable';

export interface LspOptions {
  mode: 'stdio' | 'ipc';
  version: string;
  /** The client's initializationOptions (the VS Code settings), applied before any request is served. */
  onInitialize?: (initializationOptions: unknown) => Promise<void> | void;
  onClose: () => void;
}

export function startLspServer(table: Table, peers: PeerSet, opts: LspOptions, logger: Logger): Connection {
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

  const peer = connectionPeer(`lsp-${opts.mode}`, conn);
  const served = serveTable(conn, table, peer, logger);
  const remove = peers.add(peer);
  conn.onShutdown(() => logger.info('client asked the daemon to shut down'));
  conn.onExit(() => {
    remove();
    served.dispose();
    opts.onClose();
  });
  // The parent went away without `exit` (pipe closed): stop too, as a managed child should.
  if (opts.mode === 'stdio') process.stdin.on('end', () => opts.onClose());
  else process.on('disconnect', () => opts.onClose());
  conn.listen();
  return conn;
}
