// JSON-RPC over HTTP: each POST /rpc body is one frame (a message or a batch) on one long-lived
// vscode-jsonrpc connection; the frame channel numbers requests so every body gets its own answer.
import type http from 'node:http';
import type { NotificationType } from 'vscode-languageserver-protocol';
import type { Logger } from '../core/types';
import type { Peer } from '../rpc/handlerTable';
import { ServerChannel, type Payload } from './frames';
import { serveConnection, type Table } from './serveTable';

export interface HttpRpc {
  /** Answer one body: 200 with the response (or the batch's), 204 when it held only notifications. */
  handle(body: string, res: http.ServerResponse): Promise<void>;
  close(): void;
}

export function httpRpc(table: Table, maxBytes: () => number, logger: Logger): HttpRpc {
  // Plain HTTP has no way back: notifications to this peer (stream deltas, progress) are dropped.
  const channel = new ServerChannel(maxBytes, () => undefined, 'frame');
  const peer: Peer = { id: 'http-rpc', notify<P>(_t: NotificationType<P>, _p: P) {} };
  const served = serveConnection(channel.reader, channel.writer, table, logger, peer);
  return {
    async handle(body, res) {
      let settle!: (p: Payload | undefined) => void;
      const reply = new Promise<Payload | undefined>((resolve) => (settle = resolve));
      const frame = channel.receive(body, settle);
      if (!frame.answered) return void res.writeHead(204).end();
      // The caller hung up: cancel whatever its body started.
      res.on('close', () => {
        if (res.writableEnded) return;
        frame.cancel();
        settle(undefined);
      });
      const payload = await reply;
      if (payload === undefined || res.destroyed) return;
      const text = JSON.stringify(payload);
      const head = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) };
      res.writeHead(200, head).end(text);
    },
    close() {
      served.dispose();
      channel.close();
    },
  };
}
