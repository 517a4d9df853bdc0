// The handler table: one handler per request declared in protocol/contract.ts, served identically by
// every transport (LSP stdio/IPC, WebSocket, HTTP). Params are validated here, from the declaration,
// before any handler runs: a handler receives typed, checked params and never casts or re-validates.
import type { NotificationType } from 'vscode-jsonrpc';
import { requests, type ParamsOf, type RequestName, type ResultOf } from '../../protocol/contract';
import { ErrorCodes } from '../../protocol/errors';
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

export type Handler<K extends RequestName> = (
  params: ParamsOf<K>,
  ctx: CallContext,
) => ResultOf<K> | Promise<ResultOf<K>>;

/** Exactly one handler per declared request: the compiler rejects a missing or an unknown one. */
export type Handlers = { [K in RequestName]: Handler<K> };

interface Entry {
  readonly name: RequestName;
  readonly run: (params: unknown, ctx: CallContext) => unknown;
}

interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** The -32602 error for the first issue, naming the field by its path ("messages.0.role"). */
export function invalidParamsError(issues: readonly Issue[]): RpcError {
  const issue = issues[0];
  const field = issue?.path.map(String).join('.') || 'params';
  return new RpcError(ErrorCodes.InvalidParams, `invalid params: ${field}: ${issue?.message ?? 'invalid'}`, { field });
}

/**
 * Every method takes one params object. By-position params (`[obj]`, or `[obj, null]` as vscode-jsonrpc
 * sends when a caller passes an undefined cancellation token) carry it first, as LSP servers read them.
 */
function byName(params: unknown): unknown {
  if (!Array.isArray(params)) return params ?? undefined;
  return params.slice(1).every((p) => p === null || p === undefined) ? (params[0] ?? undefined) : params;
}

export class HandlerTable {
  private readonly byMethod = new Map<string, Entry>();

  /** `checkResults`: also validate every result against its declaration (tests and development). */
  constructor(
    handlers: Handlers,
    private readonly opts: { checkResults?: boolean } = {},
  ) {
    for (const name of Object.keys(requests) as RequestName[]) {
      const decl = requests[name];
      const fn = handlers[name] as (params: unknown, ctx: CallContext) => unknown;
      this.byMethod.set(decl.method, { name, run: fn });
    }
  }

  has(method: string): boolean {
    return this.byMethod.has(method);
  }

  methods(): string[] {
    return [...this.byMethod.keys()];
  }

  async call(method: string, params: unknown, ctx: CallContext): Promise<unknown> {
    const entry = this.byMethod.get(method);
    if (!entry) throw new RpcError(ErrorCodes.MethodNotFound, `method not found: ${method}`);
    const decl = requests[entry.name];
    let input: unknown = undefined;
    if (decl.params !== null) {
      const r = decl.params.safeParse(byName(params));
      if (!r.success) throw invalidParamsError(r.error.issues);
      input = r.data;
    }
    const result = await entry.run(input, ctx);
    if (this.opts.checkResults) {
      const r = decl.result.safeParse(result);
      if (!r.success) {
        const issue = r.error.issues[0];
        throw new RpcError(
          ErrorCodes.InternalError,
          `internal error: the result of ${method} breaks its declaration at ` +
            `${issue?.path.map(String).join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
        );
      }
    }
    return result;
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
