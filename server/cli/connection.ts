// How the CLI reaches a daemon: the running one named in daemon.json (WebSocket + token), or an
// embedded one started in this process (no listeners) when none runs.
import type { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import WebSocket from 'ws';
import type { Config } from '../../protocol/config';
import { processAlive, readDaemonFile } from '../daemonFile';
import { startDaemon, type RunningDaemon } from '../main';
import { defaultStateDir } from '../paths';
import type { Peer } from '../rpc';
import { RpcError, toRpcError } from '../rpcError';

export interface Conn {
  readonly kind: 'daemon' | 'embedded';
  request<R>(type: RequestType0<R, void>): Promise<R>;
  request<P, R>(type: RequestType<P, R, void>, params: P): Promise<R>;
  onNotification<P>(type: NotificationType<P>, fn: (p: P) => void): void;
  close(): Promise<void>;
}

export interface ConnectOptions { stateDir?: string; config?: string; embedded?: boolean; configObject?: Config }

export async function connect(o: ConnectOptions): Promise<Conn> {
  const stateDir = o.stateDir ?? defaultStateDir();
  if (!o.embedded && !o.config && !o.configObject) {
    const info = readDaemonFile(stateDir);
    if (info?.wsPort && processAlive(info.pid)) {
      try {
        return await wsConn(info.wsPort, info.token);
      } catch {
        // stale daemon.json: fall through to an embedded daemon
      }
    }
  }
  const d = await startDaemon({ stateDir, logToStderr: process.env.BACKSTOP_LOG_LEVEL !== undefined, ...(o.config ? { configFile: o.config } : {}), ...(o.configObject ? { config: o.configObject } : {}), writeDaemonFile: false });
  return embeddedConn(d);
}

function embeddedConn(d: RunningDaemon): Conn {
  const handlers = new Map<string, ((p: unknown) => void)[]>();
  const peer: Peer = { id: 'cli', notify: (type, params) => handlers.get(type.method)?.forEach((h) => h(params)) };
  const remove = d.state.peers.add(peer);
  return {
    kind: 'embedded',
    request: (async (type: { method: string }, params?: unknown) => {
      try {
        return await d.table.call(type.method, params, { signal: new AbortController().signal, peer });
      } catch (e) {
        throw toRpcError(e);
      }
    }) as Conn['request'],
    onNotification: (type, fn) => handlers.set(type.method, [...(handlers.get(type.method) ?? []), fn as (p: unknown) => void]),
    close: async () => {
      remove();
      await d.stop();
    },
  };
}

function wsConn(port: number, token: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { headers: { authorization: `Bearer ${token}` } });
    let seq = 0;
    const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
    const handlers = new Map<string, ((p: unknown) => void)[]>();
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { code: number; message: string; data?: never }; method?: string; params?: unknown };
      if (m.method) return handlers.get(m.method)?.forEach((h) => h(m.params));
      const p = m.id !== undefined ? pending.get(m.id) : undefined;
      if (!p || m.id === undefined) return;
      pending.delete(m.id);
      if (m.error) p.reject(new RpcError(m.error.code, m.error.message, m.error.data));
      else p.resolve(m.result);
    });
    ws.on('close', () => {
      for (const p of pending.values()) p.reject(new Error('the daemon closed the connection'));
      pending.clear();
    });
    ws.once('error', reject);
    ws.once('open', () =>
      resolve({
        kind: 'daemon',
        request: ((type: { method: string }, params?: unknown) =>
          new Promise((res, rej) => {
            const id = ++seq;
            pending.set(id, { resolve: res, reject: rej });
            ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: type.method, ...(params !== undefined ? { params } : {}) }));
          })) as Conn['request'],
        onNotification: (type, fn) => handlers.set(type.method, [...(handlers.get(type.method) ?? []), fn as (p: unknown) => void]),
        close: async () => ws.close(),
      }),
    );
  });
}
