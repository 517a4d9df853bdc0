// How the CLI reaches a daemon: the running one named in daemon.json (WebSocket + token), or an
// embedded one started in this process (no listeners) when none runs. A daemon.json left behind by
// a daemon that died (its pid is gone, or its port does not answer) is said so in one line on
// stderr and removed; the embedded daemon then starts with the configuration the dead one used.
// Either way the CLI holds a vscode-jsonrpc connection, the daemon's own stack: every request has
// a timeout, and Ctrl-C cancels what is in flight with $/cancelRequest.
import fs from 'node:fs';
import path from 'node:path';
import {
  CancellationTokenSource,
  createMessageConnection,
  ResponseError,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import type { Config } from '../../protocol/config';
import { ErrorCodes } from '../../protocol/errors';
import { benchmark, complete, download } from '../../protocol/methods';
import type { ErrorData } from '../../protocol/types';
import { nullLogger } from '../core/types';
import { DAEMON_FILE, processAlive, readDaemonFile, removeDaemonFile, type DaemonFile } from '../state/daemonFile';
import { startDaemon, type RunningDaemon } from '../app/main';
import { defaultStateDir } from '../state/paths';
import { RpcError } from '../rpc/rpcError';
import { memoryPair } from '../transports/frames';
import { serveConnection } from '../transports/serveTable';
import { wsClientChannel } from '../transports/wsChannel';
import { wsModule } from '../transports/wsModule';
import { EXIT_CANCELLED } from './exitCodes';

/** How long a request waits for its answer before the CLI cancels it and gives up. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Requests that run models or move files wait longer. */
export const LONG_REQUEST_TIMEOUT_MS: Readonly<Record<string, number>> = {
  [complete.method]: 10 * 60_000,
  [benchmark.method]: 60 * 60_000,
  [download.method]: 6 * 60 * 60_000,
};
/** Environment variable that overrides every timeout, in milliseconds. */
export const TIMEOUT_ENV = 'BACKSTOP_RPC_TIMEOUT_MS';
/** How long opening the WebSocket, and closing it cleanly, may take. */
const SOCKET_TIMEOUT_MS = 10_000;

/** The timeout of one request: the explicit override, else $BACKSTOP_RPC_TIMEOUT_MS, else the method's. */
export function timeoutFor(method: string, override?: number): number {
  if (override !== undefined && override > 0) return override;
  const env = Number(process.env[TIMEOUT_ENV]);
  if (Number.isFinite(env) && env > 0) return env;
  return LONG_REQUEST_TIMEOUT_MS[method] ?? REQUEST_TIMEOUT_MS;
}

const seconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

/** No answer in time; the request was cancelled on the daemon. */
export class RequestTimeoutError extends Error {
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(
      `${method}: no answer from the daemon within ${seconds(timeoutMs)}, so the request was cancelled ` +
        `(set ${TIMEOUT_ENV} to wait longer)`,
    );
    this.name = 'RequestTimeoutError';
  }
}

export interface Conn {
  readonly kind: 'daemon' | 'embedded';
  request<R>(type: RequestType0<R, void>): Promise<R>;
  request<P, R>(type: RequestType<P, R, void>, params: P): Promise<R>;
  onNotification<P>(type: NotificationType<P>, fn: (p: P) => void): void;
  /** Requests still waiting for an answer. */
  inFlight(): number;
  /** Cancel every request in flight: $/cancelRequest goes to the daemon, each rejects with -32800. */
  cancelAll(reason?: string): void;
  close(): Promise<void>;
}

export interface ConnectOptions {
  stateDir?: string;
  config?: string;
  embedded?: boolean;
  configObject?: Config;
  /** Every request's timeout in ms, instead of REQUEST_TIMEOUT_MS / LONG_REQUEST_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Where the one-line notice about a dead daemon goes (default: stderr). */
  notice?: (line: string) => void;
}

export async function connect(o: ConnectOptions): Promise<Conn> {
  const stateDir = o.stateDir ?? defaultStateDir();
  let configFile = o.config;
  if (!o.embedded && !o.config && !o.configObject) {
    const info = readDaemonFile(stateDir);
    if (info) {
      let dead: string | undefined;
      if (!processAlive(info.pid)) dead = `its process ${info.pid} is not running`;
      else if (info.wsPort) {
        try {
          return await wsConnection(info.wsPort, info.token, o.timeoutMs);
        } catch (e) {
          dead = `its port ${info.wsPort} does not answer (${errorText(e)})`;
        }
      }
      // A live daemon without a WebSocket (HTTP only) is not stale: leave its file, embed quietly.
      if (dead) {
        const next = staleDaemonAction(info);
        removeDaemonFile(stateDir, info.pid);
        if (next.configFile) configFile = next.configFile;
        (o.notice ?? ((l) => process.stderr.write(`${l}\n`)))(
          `backstop: the daemon in ${path.join(stateDir, DAEMON_FILE)} is gone (${dead}); removed the stale file, ` +
            `running an embedded daemon ${next.described}`,
        );
      }
    }
  }
  const d = await startDaemon({
    stateDir,
    logToStderr: process.env.BACKSTOP_LOG_LEVEL !== undefined,
    writeDaemonFile: false,
    ...(configFile ? { configFile } : {}),
    ...(o.configObject ? { config: o.configObject } : {}),
  });
  return embeddedConnection(d, o.timeoutMs);
}

/** Which configuration replaces a dead daemon: the file it was started with, when that still exists. */
function staleDaemonAction(info: DaemonFile): { configFile?: string; described: string } {
  if (info.configPath === undefined)
    return { described: 'with the default configuration (daemon.json names no config file)' };
  if (fs.existsSync(info.configPath))
    return { configFile: info.configPath, described: `with its config ${info.configPath}` };
  return { described: `with the default configuration (its config ${info.configPath} no longer exists)` };
}

function errorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code ?? (e instanceof Error ? e.message : String(e));
}

/** A daemon listening on WebSocket at 127.0.0.1:port. */
export async function wsConnection(port: number, token: string, timeoutMs?: number): Promise<Conn> {
  const ws = new (wsModule().WebSocket)(`ws://127.0.0.1:${port}`, {
    headers: { authorization: `Bearer ${token}` },
    handshakeTimeout: SOCKET_TIMEOUT_MS,
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const channel = wsClientChannel(ws);
  const conn = createMessageConnection(channel.reader, channel.writer);
  return rpcConn(conn, 'daemon', timeoutMs, async () => {
    if (ws.readyState === ws.CLOSED) return;
    // A clean close: whatever was sent before it (a $/cancelRequest) reaches the daemon first.
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.close();
    const timer = setTimeout(() => ws.terminate(), SOCKET_TIMEOUT_MS);
    await closed;
    clearTimeout(timer);
  });
}

/** A daemon in this process, served over an in-memory pair exactly as over a socket. */
export function embeddedConnection(d: RunningDaemon, timeoutMs?: number): Conn {
  const [daemonEnd, cliEnd] = memoryPair();
  const served = serveConnection(daemonEnd.reader, daemonEnd.writer, d.table, nullLogger, 'cli');
  const remove = d.state.peers.add(served.peer);
  const conn = createMessageConnection(cliEnd.reader, cliEnd.writer);
  return rpcConn(conn, 'embedded', timeoutMs, async () => {
    remove();
    served.dispose();
    await d.stop();
  });
}

/** A wire error as the CLI reports it: RpcError with the daemon's code and data. */
function fromWire(e: unknown): unknown {
  if (!(e instanceof ResponseError)) return e;
  if (e.code === ErrorCodes.PendingResponseRejected || e.code === ErrorCodes.ConnectionInactive) {
    return new Error('the daemon closed the connection');
  }
  return new RpcError(e.code, e.message, (e.data ?? undefined) as Partial<ErrorData> | undefined);
}

interface InFlight {
  cancel(reason: string): void;
  fail(e: unknown): void;
}

function rpcConn(
  conn: MessageConnection,
  kind: Conn['kind'],
  timeoutMs: number | undefined,
  shutdown: () => Promise<void>,
): Conn {
  const handlers = new Map<string, ((p: unknown) => void)[]>();
  const inflight = new Set<InFlight>();
  let open = true;
  conn.onNotification((method: string, params: unknown) => handlers.get(method)?.forEach((h) => h(params)));
  conn.onClose(() => {
    open = false;
    for (const f of [...inflight]) f.fail(new Error('the daemon closed the connection'));
  });
  conn.listen();

  const request = (type: { method: string }, params?: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const method = type.method;
      const cts = new CancellationTokenSource();
      const ms = timeoutFor(method, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        inflight.delete(entry);
        cts.dispose();
      };
      // Cancelling the token sends $/cancelRequest; the caller does not wait for the daemon's -32800.
      const cancel = (e: unknown) => {
        if (open) cts.cancel();
        done();
        reject(e);
      };
      const entry: InFlight = {
        cancel: (reason) => cancel(new RpcError(ErrorCodes.RequestCancelled, `${method}: ${reason}`)),
        fail: (e) => {
          done();
          reject(e);
        },
      };
      const timer = setTimeout(() => cancel(new RequestTimeoutError(method, ms)), ms);
      inflight.add(entry);
      try {
        const sent =
          params === undefined ? conn.sendRequest(method, cts.token) : conn.sendRequest(method, params, cts.token);
        sent.then(
          (r) => {
            done();
            resolve(r);
          },
          (e: unknown) => entry.fail(fromWire(e)),
        );
      } catch (e) {
        entry.fail(new Error(`cannot send ${method}: ${(e as Error).message}`));
      }
    });

  return {
    kind,
    request: request as Conn['request'],
    onNotification: (type, fn) => {
      handlers.set(type.method, [...(handlers.get(type.method) ?? []), fn as (p: unknown) => void]);
    },
    inFlight: () => inflight.size,
    cancelAll: (reason = 'cancelled') => {
      for (const f of [...inflight]) f.cancel(reason);
    },
    close: async () => {
      open = false;
      conn.dispose();
      await shutdown();
    },
  };
}

/**
 * Ctrl-C while requests are in flight cancels them ($/cancelRequest), so the command fails as
 * cancelled and exits with EXIT_CANCELLED; with nothing in flight, or on a second Ctrl-C, exit at
 * once. Returns the function that takes the handler away again.
 */
export function cancelOnInterrupt(conn: Conn, exit: (code: number) => void = (c) => process.exit(c)): () => void {
  let pressed = false;
  const onSigint = () => {
    if (pressed || conn.inFlight() === 0) return exit(EXIT_CANCELLED);
    pressed = true;
    conn.cancelAll('cancelled (Ctrl-C)');
  };
  process.on('SIGINT', onSigint);
  return () => void process.off('SIGINT', onSigint);
}
