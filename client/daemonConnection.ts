// The extension's connection to the daemon: a vscode-jsonrpc message connection over the forked
// process's IPC channel — the same JSON-RPC stack the daemon serves on every transport. The daemon is
// not a language server, so the whole LSP client is not needed: this does the part Backstop uses
// (initialize/initialized, shutdown/exit, requests with cancellation, notifications, message traces)
// in a few KB instead of ~400 KB of vscode-languageclient.
import * as vscode from 'vscode';
import {
  createMessageConnection,
  Trace,
  TraceFormat,
  type CancellationToken,
  type MessageConnection,
  type MessageReader,
  type MessageWriter,
  type NotificationType,
  type RequestType,
  type RequestType0,
} from 'vscode-jsonrpc/node';

export type ConnectionState = 'stopped' | 'starting' | 'running';

export interface Transports {
  reader: MessageReader;
  writer: MessageWriter;
}

export interface DaemonConnectionOptions {
  /** Called on every start: fork the process and hand over its message transports. */
  transports: () => Promise<Transports>;
  initializationOptions: () => unknown;
  /** Where message traces go (log level Trace); lines pass through it, so it can redact. */
  traceChannel: vscode.LogOutputChannel;
  /** Which trace the user asked for (`backstop.trace.server`). */
  traceSetting: () => 'messages' | 'verbose';
  /** The connection closed without a stop() (the daemon crashed or was killed). */
  onUnexpectedClose: () => void;
}

/** An `initialize` the daemon answered with an error (invalid settings): start() rejects with it. */
export class InitializeError extends Error {
  override readonly name = 'InitializeError';
}

export class DaemonConnection implements vscode.Disposable {
  private connection: MessageConnection | undefined;
  private _state: ConnectionState = 'stopped';
  private stopping = false;
  private readonly handlers = new Map<string, (params: unknown) => void>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly opts: DaemonConnectionOptions) {
    // Tracing formats every message: only while someone can see it.
    this.disposables.push(
      opts.traceChannel.onDidChangeLogLevel(() => this.applyTrace()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('backstop.trace.server')) this.applyTrace();
      }),
    );
  }

  get state(): ConnectionState {
    return this._state;
  }

  isRunning(): boolean {
    return this._state === 'running';
  }

  /** Register a notification handler; it stays across restarts. */
  onNotification<P>(type: NotificationType<P>, handler: (params: P) => void): vscode.Disposable {
    const fn = handler as (params: unknown) => void;
    const isNew = !this.handlers.has(type.method);
    this.handlers.set(type.method, fn);
    if (isNew && this.connection) this.dispatch(this.connection, type.method);
    return new vscode.Disposable(() => {
      if (this.handlers.get(type.method) === fn) this.handlers.delete(type.method);
    });
  }

  async start(): Promise<void> {
    if (this._state !== 'stopped') throw new Error(`the daemon connection is ${this._state}`);
    this._state = 'starting';
    let connection: MessageConnection | undefined;
    try {
      const { reader, writer } = await this.opts.transports();
      connection = createMessageConnection(reader, writer, {
        error: (m) => this.opts.traceChannel.error(m),
        warn: (m) => this.opts.traceChannel.warn(m),
        info: (m) => this.opts.traceChannel.info(m),
        log: (m) => this.opts.traceChannel.debug(m),
      });
      this.connection = connection;
      for (const method of this.handlers.keys()) this.dispatch(connection, method);
      const current = connection;
      connection.onClose(() => this.closed(current));
      connection.listen();
      this.applyTrace();
      try {
        await connection.sendRequest('initialize', {
          processId: process.pid,
          clientInfo: { name: vscode.env.appName, version: vscode.version },
          rootUri: null,
          capabilities: {},
          initializationOptions: this.opts.initializationOptions(),
        });
      } catch (e) {
        throw new InitializeError(e instanceof Error ? e.message : String(e));
      }
      await connection.sendNotification('initialized', {});
      this._state = 'running';
    } catch (e) {
      this._state = 'stopped';
      if (connection) this.dropConnection(connection);
      throw e;
    }
  }

  /** Ask the daemon to shut down and exit; after `timeoutMs` the connection is dropped regardless. */
  async stop(timeoutMs: number): Promise<void> {
    const connection = this.connection;
    if (!connection || this._state === 'stopped') return;
    this.stopping = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        connection.sendRequest('shutdown').then(() => connection.sendNotification('exit')),
        new Promise<void>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the daemon did not shut down within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.dropConnection(connection);
      this._state = 'stopped';
      this.stopping = false;
    }
  }

  sendRequest<R>(type: RequestType0<R, void>, token?: CancellationToken): Promise<R>;
  sendRequest<P, R>(type: RequestType<P, R, void>, params: P, token?: CancellationToken): Promise<R>;
  sendRequest(type: { method: string; numberOfParams: number }, ...rest: unknown[]): Promise<unknown> {
    const connection = this.connection;
    if (!connection || this._state !== 'running') return Promise.reject(new Error('the daemon is not running'));
    if (type.numberOfParams === 0) {
      const token = rest[0] as CancellationToken | undefined;
      return token ? connection.sendRequest(type.method, token) : connection.sendRequest(type.method);
    }
    const [params, token] = rest as [unknown, CancellationToken | undefined];
    return token ? connection.sendRequest(type.method, params, token) : connection.sendRequest(type.method, params);
  }

  private dispatch(connection: MessageConnection, method: string): void {
    connection.onNotification(method, (params: unknown) => this.handlers.get(method)?.(params));
  }

  private closed(connection: MessageConnection): void {
    if (this.connection !== connection) return;
    const wasStopping = this.stopping;
    this.dropConnection(connection);
    this._state = 'stopped';
    if (!wasStopping) this.opts.onUnexpectedClose();
  }

  private readonly disposed = new WeakSet<MessageConnection>();

  private dropConnection(connection: MessageConnection): void {
    if (this.connection === connection) this.connection = undefined;
    if (this.disposed.has(connection)) return;
    this.disposed.add(connection);
    connection.dispose();
  }

  private applyTrace(): void {
    const connection = this.connection;
    if (!connection) return;
    const on = this.opts.traceChannel.logLevel === vscode.LogLevel.Trace;
    const level = !on ? Trace.Off : this.opts.traceSetting() === 'verbose' ? Trace.Verbose : Trace.Messages;
    const channel = this.opts.traceChannel;
    void connection.trace(
      level,
      {
        log: (message: string, data?: string) => channel.trace(data ? `${message}\n${data}` : message),
      },
      { traceFormat: TraceFormat.Text, sendNotification: false },
    );
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    if (this.connection) this.dropConnection(this.connection);
    this._state = 'stopped';
  }
}
