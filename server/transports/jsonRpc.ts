// Minimal JSON-RPC 2.0 dispatch for message-per-frame transports (WebSocket, HTTP /rpc):
// parse, validate, run the shared handler table, honour $/cancelRequest, never throw.
import { ErrorCodes } from '../../protocol/errors';
import { CANCEL_REQUEST_METHOD } from '../../protocol/methods';
import type { HandlerTable, Peer } from '../rpc';
import { RpcError, toRpcError } from '../rpcError';

type Id = string | number | null;
export interface JsonRpcResponse { jsonrpc: '2.0'; id: Id; result?: unknown; error?: { code: number; message: string; data?: unknown } }

const errorResponse = (id: Id, e: RpcError): JsonRpcResponse => ({ jsonrpc: '2.0', id, error: { code: e.code, message: e.message, data: e.data } });

export class JsonRpcSession {
  private readonly inflight = new Map<string, AbortController>();
  constructor(private readonly table: HandlerTable, private readonly peer: Peer, private readonly limit: number | (() => number)) {}

  private get maxBytes(): number {
    return typeof this.limit === 'number' ? this.limit : this.limit();
  }

  /** Handle one raw frame; resolves with the text to send back, or undefined for notifications. */
  async handleFrame(raw: string): Promise<string | undefined> {
    if (Buffer.byteLength(raw) > this.maxBytes) {
      return JSON.stringify(errorResponse(null, new RpcError(ErrorCodes.MessageTooLarge, `message of ${Buffer.byteLength(raw)} bytes exceeds the limit of ${this.maxBytes} bytes (server.maxMessageBytes)`)));
    }
    let msg: unknown;
    try {
      msg = JSON.parse(raw);
    } catch (e) {
      return JSON.stringify(errorResponse(null, new RpcError(ErrorCodes.ParseError, `parse error: ${(e as Error).message}`)));
    }
    if (Array.isArray(msg)) {
      if (msg.length === 0) return JSON.stringify(errorResponse(null, new RpcError(ErrorCodes.InvalidRequest, 'invalid request: empty batch')));
      const out = (await Promise.all(msg.map((m) => this.handleMessage(m)))).filter((r): r is JsonRpcResponse => r !== undefined);
      return out.length ? JSON.stringify(out) : undefined;
    }
    const r = await this.handleMessage(msg);
    return r ? JSON.stringify(r) : undefined;
  }

  async handleMessage(msg: unknown): Promise<JsonRpcResponse | undefined> {
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      return errorResponse(null, new RpcError(ErrorCodes.InvalidRequest, 'invalid request: a JSON-RPC message is an object'));
    }
    const m = msg as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
    const idOk = m.id === undefined || m.id === null || typeof m.id === 'string' || typeof m.id === 'number';
    const id: Id = idOk && (typeof m.id === 'string' || typeof m.id === 'number') ? m.id : null;
    if (m.jsonrpc !== '2.0' || typeof m.method !== 'string' || !idOk) {
      return errorResponse(id, new RpcError(ErrorCodes.InvalidRequest, 'invalid request: expected {"jsonrpc":"2.0","method":string,"id"?,"params"?}'));
    }
    if (m.method === CANCEL_REQUEST_METHOD) {
      const target = (m.params as { id?: unknown } | undefined)?.id;
      this.inflight.get(String(target))?.abort(new RpcError(ErrorCodes.RequestCancelled, 'request cancelled'));
      return undefined;
    }
    const isNotification = m.id === undefined;
    const ac = new AbortController();
    const key = String(id);
    if (!isNotification) this.inflight.set(key, ac);
    try {
      const result = await this.table.call(m.method, m.params, { signal: ac.signal, peer: this.peer });
      return isNotification ? undefined : { jsonrpc: '2.0', id, result: result ?? null };
    } catch (e) {
      return isNotification ? undefined : errorResponse(id, toRpcError(e));
    } finally {
      if (!isNotification && this.inflight.get(key) === ac) this.inflight.delete(key);
    }
  }

  /** The connection is gone: abort everything it started. */
  close(): void {
    for (const ac of this.inflight.values()) ac.abort(new RpcError(ErrorCodes.RequestCancelled, 'connection closed'));
    this.inflight.clear();
  }
}
