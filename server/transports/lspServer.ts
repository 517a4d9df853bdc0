// stdio / node-IPC transport: the LSP base protocol through vscode-languageserver, as the VS Code
// client and `backstop serve --stdio` speak it. The connection reads through frame channels
// (lspChannel.ts), so malformed headers and bodies are answered and the stream resynchronises.
import { createConnection, ResponseError, type Connection } from 'vscode-languageserver/node';
import { defaultConfig } from '../../protocol/config';
import type { Logger } from '../core/types';
import type { PeerSet } from '../rpc/handlerTable';
import { toRpcError } from '../rpc/rpcError';
import { ipcServerChannel, streamServerChannel } from './lspChannel';
import { connectionPeer, serveTable, type Table } from './serveTable';

export interface LspOptions {
  mode: 'stdio' | 'ipc';
  version: string;
  /** The client's initializationOptions (the VS Code settings), applied before any request is served. */
  onInitialize?: (initializationOptions: unknown) => Promise<void> | void;
  onClose: () => void;
  /** Largest body accepted over stdio (default: server.maxMessageBytes's default). */
  maxBytes?: () => number;
}

export function startLspServer(table: Table, peers: PeerSet, opts: LspOptions, logger: Logger): Connection {
  const fallbackMax = defaultConfig().server.maxMessageBytes;
  const maxBytes = opts.maxBytes ?? (() => fallbackMax);
  const channel =
    opts.mode === 'ipc'
      ? ipcServerChannel(process, logger)
      : streamServerChannel(process.stdin, process.stdout, maxBytes, logger);
  const conn = createConnection(channel.reader, channel.writer);

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
