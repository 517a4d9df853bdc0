// A `ws` WebSocket as a JSON-RPC transport: one message (or batch) per text frame, both ends.
import type { RawData, WebSocket } from 'ws';
import { ClientChannel, ServerChannel, type Payload } from './frames';

/** Send one frame; resolves once written, and silently when the socket is no longer open. */
export function sendFrame(ws: WebSocket, payload: Payload): Promise<void> {
  if (ws.readyState !== ws.OPEN) return Promise.resolve();
  return new Promise((resolve, reject) => ws.send(JSON.stringify(payload), (e) => (e ? reject(e) : resolve())));
}

const text = (data: RawData, isBinary: boolean): string =>
  isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString();

/** The daemon's end: frames over `maxBytes` bytes are refused with -32006, malformed ones answered. */
export function wsServerChannel(ws: WebSocket, maxBytes: () => number): ServerChannel {
  const ch = new ServerChannel(maxBytes, (m) => sendFrame(ws, m));
  ws.on('message', (data, isBinary) => {
    // A reply the socket can no longer take is dropped: the caller is gone.
    ch.receive(text(data, isBinary), (p) => void sendFrame(ws, p).catch(() => undefined));
  });
  ws.on('close', () => ch.close());
  ws.on('error', (e) => ch.reader.error(e));
  return ch;
}

/** The CLI's end. */
export function wsClientChannel(ws: WebSocket): ClientChannel {
  const ch = new ClientChannel((m) => sendFrame(ws, m));
  ws.on('message', (data, isBinary) => ch.receive(text(data, isBinary)));
  ws.on('close', () => ch.close());
  ws.on('error', (e) => ch.reader.error(e));
  return ch;
}
