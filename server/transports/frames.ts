// Whole-message transports (WebSocket text frames, HTTP bodies, LSP-framed stdio bodies, node IPC
// messages, an in-process pair) as vscode-jsonrpc readers and writers: one JSON-RPC message, or one
// batch, per frame.
//
// vscode-jsonrpc answers nothing it cannot read, so the server side checks every envelope first and
// answers each malformed frame itself (-32700, -32600, -32006), then goes on with the next one.
// It also renumbers requests, so one connection can serve many callers (every HTTP POST) and a batch
// can be answered with one array however its ids collide with other requests in flight.
import {
  AbstractMessageReader,
  AbstractMessageWriter,
  type DataCallback,
  type Disposable,
  type Message,
  type MessageReader,
  type MessageWriter,
  type NotificationMessage,
  type RequestMessage,
  type ResponseMessage,
} from 'vscode-jsonrpc/node';
import { ErrorCodes } from '../../protocol/errors';
import { CANCEL_REQUEST_METHOD } from '../../protocol/methods';
import { RpcError } from '../rpc/rpcError';

export type Id = string | number;
/** What a frame is answered with: one message, or an array for a batch. */
export type Payload = Message | Message[];

export class FrameReader extends AbstractMessageReader implements MessageReader {
  private callback: DataCallback | undefined;
  private readonly backlog: Message[] = [];

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    for (const m of this.backlog.splice(0)) this.emit(m);
    return { dispose: () => (this.callback = undefined) };
  }

  /** Hand one decoded message to the connection (kept until it listens). */
  emit(m: Message): void {
    if (!this.callback) return void this.backlog.push(m);
    try {
      this.callback(m);
    } catch (e) {
      this.fireError(e);
    }
  }

  error(e: unknown): void {
    this.fireError(e);
  }

  close(): void {
    this.fireClose();
  }
}

export class FrameWriter extends AbstractMessageWriter implements MessageWriter {
  private errors = 0;
  constructor(private readonly sink: (m: Message) => void | Promise<void>) {
    super();
  }

  /** Never rejects: a reply to a caller that went away is reported through onError and dropped. */
  async write(msg: Message): Promise<void> {
    try {
      await this.sink(msg);
    } catch (e) {
      this.fireError(e, msg, ++this.errors);
    }
  }

  end(): void {}

  close(): void {
    this.fireClose();
  }
}

export const isId = (v: unknown): v is Id => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));

export function errorResponse(id: Id | null, code: number, message: string): ResponseMessage {
  const e = new RpcError(code, message);
  return { jsonrpc: '2.0', id, error: { code: e.code, message: e.message, data: e.data } };
}

const ENVELOPE = 'expected {"jsonrpc":"2.0","method":string,"id"?:string|number,"params"?}';
const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);

/** A request or notification a server can run, or the error response for one it cannot. */
export function checkCall(m: unknown): { message: RequestMessage | NotificationMessage } | { reply: ResponseMessage } {
  const bad = (id: Id | null, why: string) => ({
    reply: errorResponse(id, ErrorCodes.InvalidRequest, `invalid request: ${why}`),
  });
  if (typeof m !== 'object' || m === null || Array.isArray(m)) {
    return bad(null, `a JSON-RPC message is an object, not ${kindOf(m)}`);
  }
  const o = m as Record<string, unknown>;
  const hasId = 'id' in o;
  if (hasId && !isId(o.id)) return bad(null, `"id" must be a string or a number, not ${kindOf(o.id)}`);
  const id = hasId ? (o.id as Id) : null;
  if (o.jsonrpc !== '2.0') return bad(id, `"jsonrpc" must be "2.0"; ${ENVELOPE}`);
  if (typeof o.method !== 'string') {
    const response = 'result' in o || 'error' in o;
    return bad(id, response ? 'a response, but nothing was asked on this connection' : `no "method"; ${ENVELOPE}`);
  }
  const params = 'params' in o ? { params: o.params as object } : {};
  const head = { jsonrpc: '2.0', method: o.method };
  return { message: hasId ? { ...head, id: o.id as Id, ...params } : { ...head, ...params } };
}

/** Any well-formed JSON-RPC message (what a client accepts from the daemon). */
export function isMessage(m: unknown): m is Message {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
  const o = m as Record<string, unknown>;
  if (o.jsonrpc !== '2.0') return false;
  if (typeof o.method === 'string') return !('id' in o) || isId(o.id);
  if (!isId(o.id) && o.id !== null) return false;
  if ('result' in o) return true;
  const e = o.error as { code?: unknown; message?: unknown } | null | undefined;
  return typeof e === 'object' && e !== null && typeof e.code === 'number' && typeof e.message === 'string';
}

/** One received frame, as far as its answer goes. */
export interface Received {
  /** Whether an answer will come (false: only notifications). */
  readonly answered: boolean;
  /** The caller went away: cancel what the frame started, drop its answer. */
  cancel(): void;
}

interface Exchange {
  batch: boolean;
  waiting: Set<number>;
  replies: ResponseMessage[];
  answer?: (p: Payload) => void;
  /** The caller's request ids → ours, when a $/cancelRequest may reach only this frame's requests. */
  ids?: Map<string, number>;
}
interface Pending {
  exchange: Exchange;
  id: Id;
  key: string;
}

const idKey = (id: Id) => `${typeof id}:${id}`;

/**
 * Which requests a $/cancelRequest can reach: any of the connection's ('connection': WebSocket, one
 * caller) or only its own frame's ('frame': HTTP, where every body may come from a different caller).
 */
export type CancelScope = 'connection' | 'frame';

/**
 * The daemon's end of a whole-message transport. `receive` takes each frame with the function that
 * answers it; everything else the connection writes (notifications to the peer) goes to `out`.
 */
export class ServerChannel {
  readonly reader = new FrameReader();
  readonly writer: FrameWriter;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly byCallerId = new Map<string, number>();

  /**
   * `acceptResponses`: pass well-formed responses on to the connection (a peer answering requests
   * the daemon sent it, as an LSP client may) instead of refusing them.
   */
  constructor(
    private readonly maxBytes: () => number,
    out: (m: Message) => void | Promise<void>,
    private readonly scope: CancelScope = 'connection',
    private readonly acceptResponses = false,
  ) {
    this.writer = new FrameWriter((m) => this.route(m, out));
  }

  /** One frame as text: checked for size, parsed, then as `receiveValue`. */
  receive(text: string, answer: (p: Payload) => void): Received {
    const bytes = Buffer.byteLength(text);
    const limit = this.maxBytes();
    if (bytes > limit) {
      const why = `message of ${bytes} bytes exceeds the limit of ${limit} bytes (server.maxMessageBytes)`;
      return this.refuse(answer, errorResponse(null, ErrorCodes.MessageTooLarge, why));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      return this.refuse(answer, errorResponse(null, ErrorCodes.ParseError, `parse error: ${(e as Error).message}`));
    }
    return this.receiveValue(parsed, answer);
  }

  /** One frame already decoded (a node IPC message): a message or a batch, each envelope checked. */
  receiveValue(parsed: unknown, answer: (p: Payload) => void): Received {
    const ex: Exchange = { batch: false, waiting: new Set(), replies: [], answer };
    if (this.scope === 'frame') ex.ids = new Map();
    if (Array.isArray(parsed)) {
      if (parsed.length === 0) {
        return this.refuse(answer, errorResponse(null, ErrorCodes.InvalidRequest, 'invalid request: empty batch'));
      }
      ex.batch = true;
    }
    for (const item of ex.batch ? (parsed as unknown[]) : [parsed]) {
      if (this.acceptResponses && isMessage(item) && !('method' in item)) {
        this.reader.emit(item);
        continue;
      }
      const c = checkCall(item);
      if ('reply' in c) ex.replies.push(c.reply);
      else if ('id' in c.message) this.request(ex, c.message);
      else this.notification(ex, c.message);
    }
    const answered = ex.waiting.size > 0 || ex.replies.length > 0;
    if (ex.waiting.size === 0) this.finish(ex);
    return { answered, cancel: () => this.cancel(ex) };
  }

  /** The transport is gone. */
  close(): void {
    this.pending.clear();
    this.byCallerId.clear();
    this.reader.close();
    this.writer.close();
  }

  private refuse(answer: (p: Payload) => void, reply: ResponseMessage): Received {
    answer(reply);
    return { answered: true, cancel: () => undefined };
  }

  private request(ex: Exchange, m: RequestMessage): void {
    const internal = ++this.seq;
    const key = idKey(m.id as Id);
    this.pending.set(internal, { exchange: ex, id: m.id as Id, key });
    (ex.ids ?? this.byCallerId).set(key, internal);
    ex.waiting.add(internal);
    this.reader.emit({ ...m, id: internal } as RequestMessage);
  }

  private notification(ex: Exchange, m: NotificationMessage): void {
    if (m.method !== CANCEL_REQUEST_METHOD) return this.reader.emit(m);
    // $/cancelRequest names the caller's id: pass it on under ours; a malformed or stale one is dropped.
    const target = typeof m.params === 'object' && m.params !== null ? (m.params as { id?: unknown }).id : undefined;
    const internal = isId(target) ? (ex.ids ?? this.byCallerId).get(idKey(target)) : undefined;
    if (internal !== undefined) this.cancelInternal(internal);
  }

  private cancelInternal(internal: number): void {
    const cancel: NotificationMessage = { jsonrpc: '2.0', method: CANCEL_REQUEST_METHOD, params: { id: internal } };
    this.reader.emit(cancel);
  }

  private route(m: Message, out: (m: Message) => void | Promise<void>): void | Promise<void> {
    const r = m as ResponseMessage;
    const p = typeof r.id === 'number' && !('method' in m) ? this.pending.get(r.id) : undefined;
    if (!p) return out(m);
    this.pending.delete(r.id as number);
    const ids = p.exchange.ids ?? this.byCallerId;
    if (ids.get(p.key) === r.id) ids.delete(p.key);
    p.exchange.waiting.delete(r.id as number);
    p.exchange.replies.push({ ...r, id: p.id });
    if (p.exchange.waiting.size === 0) this.finish(p.exchange);
  }

  private finish(ex: Exchange): void {
    const answer = ex.answer;
    ex.answer = undefined;
    if (!answer || ex.replies.length === 0) return;
    answer(ex.batch ? ex.replies : ex.replies[0]!);
  }

  private cancel(ex: Exchange): void {
    ex.answer = undefined;
    for (const internal of ex.waiting) this.cancelInternal(internal);
  }
}

/** A client's end: every well-formed message goes to the connection, anything else to onError. */
export class ClientChannel {
  readonly reader = new FrameReader();
  readonly writer: FrameWriter;

  constructor(out: (m: Message) => void | Promise<void>) {
    this.writer = new FrameWriter(out);
  }

  receive(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      return this.reader.error(new Error(`unreadable message from the daemon: ${(e as Error).message}`));
    }
    for (const m of Array.isArray(parsed) ? (parsed as unknown[]) : [parsed]) {
      if (isMessage(m)) this.reader.emit(m);
      else this.reader.error(new Error(`not a JSON-RPC message: ${text.slice(0, 200)}`));
    }
  }

  close(): void {
    this.reader.close();
    this.writer.close();
  }
}

export interface Endpoint {
  reader: FrameReader;
  writer: FrameWriter;
}

/** Two connected in-process ends; messages cross as JSON, as they would over a wire. */
export function memoryPair(): [Endpoint, Endpoint] {
  const ra = new FrameReader();
  const rb = new FrameReader();
  const cross = (to: FrameReader) => (m: Message) => {
    const copy = JSON.parse(JSON.stringify(m)) as Message;
    setImmediate(() => to.emit(copy));
  };
  return [
    { reader: ra, writer: new FrameWriter(cross(rb)) },
    { reader: rb, writer: new FrameWriter(cross(ra)) },
  ];
}
