// The handler table: one map from method name (taken from the protocol constants) to a handler,
// served identically by every transport (LSP stdio/IPC, WebSocket, HTTP).
import type { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import { ErrorCodes } from '../protocol/errors';
import { RpcError } from './rpcError';

/** One connected front end. Notifications meant for one caller (stream deltas) go to its peer. */
export interface Peer {
  readonly id: string;
  notify<P>(type: NotificationType<P>, params: P): void;
}

export interface CallContext {
  signal: AbortSignal;
  peer: Peer;
}

export type Handler = (params: unknown, ctx: CallContext) => unknown;

export class HandlerTable {
  private readonly map = new Map<string, Handler>();

  on<P, R>(type: RequestType<P, R, void>, fn: (params: P, ctx: CallContext) => R | Promise<R>): this;
  on<R>(type: RequestType0<R, void>, fn: (params: undefined, ctx: CallContext) => R | Promise<R>): this;
  on(type: { method: string }, fn: (params: never, ctx: CallContext) => unknown): this {
    this.map.set(type.method, fn as Handler);
    return this;
  }

  has(method: string): boolean {
    return this.map.has(method);
  }

  methods(): string[] {
    return [...this.map.keys()];
  }

  async call(method: string, params: unknown, ctx: CallContext): Promise<unknown> {
    const h = this.map.get(method);
    if (!h) throw new RpcError(ErrorCodes.MethodNotFound, `method not found: ${method}`);
    return await h(params, ctx);
  }
}

/** Broadcast to every connected peer. */
export class PeerSet {
  private readonly peers = new Set<Peer>();
  add(p: Peer): () => void {
    this.peers.add(p);
    return () => this.peers.delete(p);
  }
  broadcast<P>(type: NotificationType<P>, params: P): void {
    for (const p of this.peers) {
      try {
        p.notify(type, params);
      } catch {
        // a peer that went away mid-send is removed by its transport
      }
    }
  }
  size(): number {
    return this.peers.size;
  }
}
