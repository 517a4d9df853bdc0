// The daemon's end of stdio (LSP framing) and node IPC as frame channels: every body or IPC message
// goes through the same envelope checks as WebSocket frames and HTTP bodies (frames.ts), so each
// malformed one is answered (-32700, -32600, -32006, id null where none can be read) and the
// connection goes on with the next. A malformed LSP header resynchronises (lspFraming.ts).
import type { Logger } from '../core/types';
import { errorResponse, ServerChannel, type Payload } from './frames';
import { frameBody, LspFramer } from './lspFraming';

/** How long a half-read body may sit idle before a header inside it is taken as the next frame. */
export const STALL_MS = 1000;

/** `Content-Length`-framed JSON-RPC over a byte stream pair (`backstop serve --stdio`). */
export function streamServerChannel(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  maxBytes: () => number,
  logger: Logger,
): ServerChannel {
  let broken = false;
  // A reader that went away (EPIPE) is reported once; the daemon stops when its stdin ends.
  output.on('error', (e: Error) => {
    if (!broken) logger.debug(`stdio: cannot write: ${e.message}`);
    broken = true;
  });
  const write = (p: Payload) =>
    new Promise<void>((resolve, reject) => {
      if (broken) return resolve();
      output.write(frameBody(JSON.stringify(p)), (e) => (e ? reject(e) : resolve()));
    });
  const answer = (p: Payload) => void write(p).catch(() => undefined);
  // Responses pass: an LSP client answers the requests a server sends it.
  const ch = new ServerChannel(maxBytes, write, 'connection', true);
  const framer = new LspFramer(maxBytes, {
    frame: (body) => void ch.receive(body.toString('utf8'), answer),
    malformed: (code, message) => {
      logger.debug(`stdio: ${message}`);
      answer(errorResponse(null, code, message));
    },
  });
  let stall: NodeJS.Timeout | undefined;
  input.on('data', (chunk: Buffer | string) => {
    clearTimeout(stall);
    framer.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    if (framer.readingBody) {
      stall = setTimeout(() => framer.stalled(), STALL_MS);
      stall.unref();
    }
  });
  input.on('error', (e: Error) => ch.reader.error(e));
  input.on('end', () => {
    clearTimeout(stall);
    ch.close();
  });
  return ch;
}

/** node IPC (`--node-ipc`, how VS Code forks the daemon): one decoded message per `message` event. */
export function ipcServerChannel(proc: NodeJS.Process, logger: Logger): ServerChannel {
  const send = (p: Payload) =>
    new Promise<void>((resolve, reject) => {
      if (!proc.send || !proc.connected) return resolve();
      proc.send(p, undefined, {}, (e: Error | null) => (e ? reject(e) : resolve()));
    });
  const answer = (p: Payload) =>
    void send(p).catch((e: unknown) => logger.debug(`ipc: cannot send: ${(e as Error).message}`));
  // IPC messages arrive decoded, so no size is known: the parent process is the only sender.
  const ch = new ServerChannel(() => Number.POSITIVE_INFINITY, send, 'connection', true);
  proc.on('message', (m: unknown) => void ch.receiveValue(m, answer));
  proc.on('disconnect', () => ch.close());
  return ch;
}
