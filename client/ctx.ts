// The extension's context (rust-analyzer's `Ctx`): owns the daemon connection (created once, restarted),
// the status bar, the log channel, the settings bridge and every disposable. Commands get a Ctx.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CancellationToken, RequestType, RequestType0 } from 'vscode-jsonrpc/node';
import * as methods from '../protocol/methods';
import type {
  BenchmarkProgress,
  FallbackEvent,
  LastFallback,
  LogMessage,
  ModelInfo,
  QueueItem,
  Status,
  StreamDelta,
} from '../protocol/types';
import type { RequestTrace } from './attemptsTrace';
import { AttemptsView } from './attemptsView';
import { DaemonConnection, InitializeError } from './daemonConnection';
import { DaemonProcess } from './daemonProcess';
import { DaemonSettings } from './daemonSettings';
import { Latest } from './latest';
import { classifyError, describeFailure, type CallResult, type DaemonFailure } from './rpcErrors';
import { ApiKeys } from './secrets';
import { RestartPolicy } from './restartPolicy';
import { StatusBar } from './statusBar';
import type { DaemonState } from './statusView';
import { RemoteSettingsHint } from './remoteSettings';
import { RedactingChannel } from './traceChannel';
import { Walkthrough } from './walkthrough';

/** A deliberate stop waits this long for the daemon to exit cleanly before it is killed. */
const STOP_TIMEOUT_MS = 5_000;
/** Node inspector port of the daemon when the extension runs in development mode. */
const DEBUG_PORT = 6019;

export type { CallResult } from './rpcErrors';

export class Ctx implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  readonly statusBar: StatusBar;
  readonly apiKeys: ApiKeys;
  readonly settings: DaemonSettings;
  /** "Show Attempts": the trace view of recent requests. */
  readonly attempts: AttemptsView;
  /** Machine settings written where a remote window ignores them. */
  readonly remoteSettings: RemoteSettingsHint;
  /** The Get Started walkthrough's steps, completed from what really happened. */
  readonly walkthrough: Walkthrough;
  private _lastTrace: { trace: RequestTrace; uri: vscode.Uri } | undefined;
  private client: DaemonConnection | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly restartPolicy = new RestartPolicy();
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private stopping = false;
  private busyCount = 0;
  private shownStartFailure: string | undefined;
  private readonly serveArgs: string[] = [];
  private initError: string | undefined;
  private daemonProcess: DaemonProcess | undefined;
  /** A close we caused (killing a daemon that failed to initialize): not a crash. Reset by every start. */
  private expectClose = false;
  /** Set when the daemon answered initialize with an error and must be ended. */
  private initFailed = false;
  /**
   * start/restart/stop run one at a time, in call order: two at once make vscode-languageclient
   * fail ("Client is currently stopping") and leave the flags above describing the wrong process.
   */
  private lifecycle: Promise<unknown> = Promise.resolve();
  /** A restart that is queued but has not begun: later restart requests join it. */
  private queuedRestart: Promise<boolean> | undefined;

  /** Status and models as pushed or answered, whichever is newer (see latest.ts). */
  private readonly statusLatest = new Latest<Status>();
  private readonly modelsLatest = new Latest<ModelInfo[]>();
  private _lastFallback: LastFallback | undefined;
  private _daemon: DaemonState = 'starting';
  private _daemonDetail: string | undefined;

  private readonly statusEmitter = new vscode.EventEmitter<Status>();
  private readonly fallbackEmitter = new vscode.EventEmitter<FallbackEvent>();
  private readonly daemonEmitter = new vscode.EventEmitter<DaemonState>();
  /** Status changes from the daemon (statusChanged notifications and the first status request). */
  readonly onDidChangeStatus = this.statusEmitter.event;
  readonly onFallback = this.fallbackEmitter.event;
  readonly onDidChangeDaemonState = this.daemonEmitter.event;
  private readonly modelsEmitter = new vscode.EventEmitter<ModelInfo[]>();
  private readonly queueEmitter = new vscode.EventEmitter<QueueItem[]>();
  private readonly benchmarkEmitter = new vscode.EventEmitter<BenchmarkProgress>();
  private readonly streamEmitter = new vscode.EventEmitter<StreamDelta>();
  private readonly logEmitter = new vscode.EventEmitter<LogMessage>();
  readonly onModels = this.modelsEmitter.event;
  readonly onQueue = this.queueEmitter.event;
  readonly onBenchmarkProgress = this.benchmarkEmitter.event;
  readonly onStream = this.streamEmitter.event;
  readonly onLog = this.logEmitter.event;

  constructor(readonly extension: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('Backstop', { log: true });
    this.statusBar = new StatusBar();
    this.apiKeys = new ApiKeys(extension);
    this.settings = new DaemonSettings(this);
    this.attempts = new AttemptsView();
    this.remoteSettings = new RemoteSettingsHint(this);
    this.walkthrough = new Walkthrough(extension.extension.id);
    this.disposables.push(
      this.attempts,
      this.remoteSettings,
      this.log,
      this.statusBar,
      this.statusEmitter,
      this.fallbackEmitter,
      this.daemonEmitter,
      this.settings,
    );
    this.disposables.push(
      this.modelsEmitter,
      this.queueEmitter,
      this.benchmarkEmitter,
      this.streamEmitter,
      this.logEmitter,
    );
    this.disposables.push(this.apiKeys.onDidChange((id) => void this.pushSecret(id)));
  }

  get status(): Status | undefined {
    return this.statusLatest.value;
  }
  /** The newest list of models the daemon pushed or answered (undefined before the first). */
  get models(): ModelInfo[] | undefined {
    return this.modelsLatest.value;
  }

  /**
   * Ask the daemon for its models. If a modelsChanged arrived while the question was out, its list is
   * newer than the answer and is returned instead.
   */
  async fetchModels(params: methods.ModelsParams = {}): Promise<CallResult<ModelInfo[]>> {
    const settle = this.modelsLatest.ask();
    const r = await this.call(methods.models, params);
    return r.ok ? { ok: true, value: settle(r.value.models) } : r;
  }
  get lastFallback(): LastFallback | undefined {
    return this._lastFallback;
  }
  get daemonState(): DaemonState {
    return this._daemon;
  }
  get daemonDetail(): string | undefined {
    return this._daemonDetail;
  }
  get running(): boolean {
    return this.client?.isRunning() ?? false;
  }
  get daemonPid(): number | undefined {
    return this.daemonProcess?.pid;
  }

  /** Start the daemon (creating the connection on first use). Never throws: failures show in the status bar. */
  start(): Promise<boolean> {
    return this.serialise(() => (this.running ? Promise.resolve(true) : this.doStart()));
  }

  /** Restart on the user's request: a fresh crash budget, same connection. Concurrent calls share one restart. */
  restart(): Promise<boolean> {
    this.restartPolicy.reset();
    this.clearRestartTimer();
    if (this.queuedRestart) return this.queuedRestart;
    const run = this.serialise(() => {
      this.queuedRestart = undefined;
      return this.doRestart();
    });
    this.queuedRestart = run;
    return run;
  }

  private serialise<T>(op: () => Promise<T>): Promise<T> {
    const run = this.lifecycle.then(op, op);
    this.lifecycle = run.catch(() => undefined);
    return run;
  }

  private async doStart(): Promise<boolean> {
    this.clearRestartTimer();
    const client = (this.client ??= this.createClient());
    // The process is forked with this array: refreshing it in place applies e.g. a new wsPort on (re)start.
    // The state dir is this extension's global storage, so each VS Code profile keeps its own stats.
    this.serveArgs.splice(
      0,
      this.serveArgs.length,
      'serve',
      '--state-dir',
      this.extension.globalStorageUri.fsPath,
      ...this.settings.serveArgs(),
    );
    this.setDaemon('starting');
    this.initError = undefined;
    this.initFailed = false;
    this.expectClose = false;
    try {
      await client.start();
    } catch (e) {
      if (e instanceof InitializeError) {
        this.initError = e.message;
        this.initFailed = true;
        this.log.error(`the daemon refused to start: ${e.message}`);
      }
      const text = this.startFailureText(e);
      // A daemon whose initialize failed is still running: ending the process lets a later start()
      // begin afresh. Any other failure is not ours to end (the process is gone, or it belongs to a
      // later start).
      if (this.initFailed && this.daemonProcess?.pid !== undefined) {
        this.expectClose = true;
        this.daemonProcess.kill();
      }
      if (this.restartTimer) {
        // The daemon died during start-up and onClosed already scheduled the next try: the status
        // bar keeps saying so, and the crash budget decides when to give up and tell the user.
        this.log.warn(`${text} (another try is scheduled)`);
        return false;
      }
      this.setDaemon('failed', text);
      if (text !== this.shownStartFailure) {
        this.shownStartFailure = text;
        void vscode.window.showErrorMessage(`Backstop: ${text}`, 'Open Settings', 'Show Logs').then((pick) => {
          if (pick === 'Open Settings')
            void vscode.commands.executeCommand('workbench.action.openSettings', 'backstop');
          if (pick === 'Show Logs') this.log.show();
        });
      }
      return false;
    }
    this.shownStartFailure = undefined;
    await this.afterStart();
    return true;
  }

  private async doRestart(): Promise<boolean> {
    if (this.client?.isRunning()) {
      this.setDaemon('restarting');
      await this.doStop();
    }
    return this.doStart();
  }

  /** Stop the client (the daemon exits on `exit`); the next fork waits for that exit (DaemonProcess). */
  private async doStop(): Promise<void> {
    this.stopping = true;
    try {
      if (this.client?.isRunning()) await this.client.stop(STOP_TIMEOUT_MS);
    } catch (e) {
      this.log.warn(`stopping the daemon: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.stopping = false;
    }
  }

  /** Send a request; errors come back classified (MethodNotFound → not_available, never a throw). */
  async call<R>(type: RequestType0<R, void>, token?: CancellationToken): Promise<CallResult<R>>;
  async call<P, R>(type: RequestType<P, R, void>, params: P, token?: CancellationToken): Promise<CallResult<R>>;
  async call<P, R>(
    type: RequestType<P, R, void> | RequestType0<R, void>,
    params?: P | CancellationToken,
    token?: CancellationToken,
  ): Promise<CallResult<R>> {
    const client = this.client;
    if (!client || !client.isRunning())
      return { ok: false, failure: classifyError(new Error('not running'), type.method) };
    try {
      const tok = type.numberOfParams === 0 ? (params as CancellationToken | undefined) : token;
      const value =
        type.numberOfParams === 0
          ? tok
            ? await client.sendRequest(type as RequestType0<R, void>, tok)
            : await client.sendRequest(type as RequestType0<R, void>)
          : await client.sendRequest(type as RequestType<P, R, void>, params as P, token);
      return { ok: true, value };
    } catch (e) {
      const failure = classifyError(e, type.method);
      if (failure.kind !== 'cancelled' && failure.kind !== 'not_available')
        this.log.warn(`${type.method}: ${failure.message}`);
      return { ok: false, failure };
    }
  }

  /** `call` that shows a notification on failure and returns undefined. */
  async callOrShow<P, R>(type: RequestType<P, R, void>, params: P, token?: CancellationToken): Promise<R | undefined> {
    const r = await this.call(type, params, token);
    if (r.ok) return r.value;
    if (r.failure.kind !== 'cancelled')
      void vscode.window.showWarningMessage(`Backstop: ${describeFailure(r.failure)}`);
    return undefined;
  }

  /** Show the spinner while `work` runs. */
  async busy<T>(work: Promise<T>): Promise<T> {
    this.statusBar.update({ busy: ++this.busyCount });
    try {
      return await work;
    } finally {
      this.statusBar.update({ busy: --this.busyCount });
    }
  }

  /** Keep a request's trace for "Show Attempts" (the latest is what the command shows). */
  keepTrace(trace: RequestTrace): vscode.Uri {
    const uri = this.attempts.add(trace);
    this._lastTrace = { trace, uri };
    return uri;
  }

  get lastTrace(): { trace: RequestTrace; uri: vscode.Uri } | undefined {
    return this._lastTrace;
  }

  /** Open the trace view of a request (kept first if it is not yet). */
  async showAttempts(trace: RequestTrace): Promise<vscode.Uri> {
    const uri = this._lastTrace?.trace === trace ? this._lastTrace.uri : this.keepTrace(trace);
    await this.attempts.open(uri);
    return uri;
  }

  pushDisposable(...d: vscode.Disposable[]): void {
    this.disposables.push(...d);
  }

  private createClient(): DaemonConnection {
    this.daemonProcess = new DaemonProcess({
      module: this.extension.asAbsolutePath(path.join('dist', 'cli.js')),
      args: () => this.serveArgs,
      log: this.log,
      notificationsFlowing: () => this.client?.isRunning() ?? false,
      ...(this.extension.extensionMode === vscode.ExtensionMode.Development
        ? { execArgv: ['--nolazy', `--inspect=${DEBUG_PORT}`] }
        : {}),
    });
    const client = new DaemonConnection({
      transports: this.daemonProcess.transports,
      initializationOptions: () => ({
        config: this.settings.fullConfig(),
        stateDir: this.extension.globalStorageUri.fsPath,
      }),
      // Message traces (log level Trace) go to the same channel, but never with an API key in them.
      traceChannel: new RedactingChannel(this.log),
      traceSetting: () =>
        vscode.workspace.getConfiguration('backstop').get('trace.server') === 'verbose' ? 'verbose' : 'messages',
      onUnexpectedClose: () => this.onClosed(),
    });
    this.disposables.push(
      client,
      client.onNotification(methods.statusChanged, (s) => {
        this.statusLatest.push(s);
        this.showStatus(s);
      }),
      client.onNotification(methods.fallback, (f) => {
        this._lastFallback = { ...f, at: new Date().toISOString() };
        this.statusBar.update({ lastFallback: this._lastFallback });
        // The daemon logs the fallback itself (its line arrives as backstop/log): one line per event.
        this.fallbackEmitter.fire(f);
      }),
      client.onNotification(methods.log, (m) => {
        const text = `[daemon] ${m.message}`;
        if (m.level === 'trace') this.log.trace(text);
        else if (m.level === 'debug') this.log.debug(text);
        else if (m.level === 'info') this.log.info(text);
        else if (m.level === 'warn') this.log.warn(text);
        else this.log.error(text);
        this.logEmitter.fire(m);
      }),
      client.onNotification(methods.modelsChanged, (p) => {
        this.modelsLatest.push(p.models);
        this.modelsEmitter.fire(p.models);
      }),
      client.onNotification(methods.queueChanged, (p) => this.queueEmitter.fire(p.items)),
      client.onNotification(methods.benchmarkProgress, (p) => this.benchmarkEmitter.fire(p)),
      client.onNotification(methods.stream, (p) => this.streamEmitter.fire(p)),
    );
    return client;
  }

  private async afterStart(): Promise<void> {
    // Keys first: a request sent the moment we say "running" must already carry its key.
    await this.pushAllSecrets();
    this.setDaemon('running');
    // One request for the first picture; from here on notifications keep it current.
    await this.fetchStatus();
    void this.remoteSettings.check();
  }

  private onClosed(): void {
    if (this.stopping || this.expectClose) {
      this.expectClose = false;
      return;
    }
    const decision = this.restartPolicy.onCrash(Date.now());
    if (!decision.restart) {
      const text = `The Backstop daemon stopped ${decision.crashes} times in a few minutes; it is not restarted again automatically.`;
      this.setDaemon('failed', `${text} See "Backstop: Show Logs", then run "Backstop: Restart Daemon".`);
      void vscode.window.showErrorMessage(`Backstop: ${text}`, 'Show Logs', 'Restart').then((pick) => {
        if (pick === 'Show Logs') this.log.show();
        if (pick === 'Restart') void this.restart();
      });
      return;
    }
    const detail = `The daemon stopped unexpectedly; restarting in ${Math.round(decision.delayMs / 100) / 10} s (try ${decision.attempt}).`;
    this.log.warn(detail);
    this.setDaemon('restarting', detail);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.serialise(() => this.doStart());
    }, decision.delayMs);
  }

  private startFailureText(e: unknown): string {
    const message = this.initError ?? (e instanceof Error ? e.message : String(e));
    this.initError = undefined;
    this.log.error(`could not start the daemon: ${message}`);
    return `Could not start the daemon: ${message}`;
  }

  /**
   * Ask the daemon for its status and show it. A statusChanged that came while the question was out is
   * newer: it was shown already and is returned instead.
   */
  async fetchStatus(): Promise<CallResult<Status>> {
    const settle = this.statusLatest.ask();
    const r = await this.call(methods.status);
    if (!r.ok) return r;
    const s = settle(r.value);
    if (s === r.value) this.showStatus(s);
    return { ok: true, value: s };
  }

  private showStatus(s: Status): void {
    this.statusBar.update({ status: s });
    this.walkthrough.onStatus(s);
    this.statusEmitter.fire(s);
  }

  private setDaemon(state: DaemonState, detail?: string): void {
    this._daemon = state;
    this._daemonDetail = detail;
    this.statusBar.update({ daemon: state, daemonDetail: detail });
    this.daemonEmitter.fire(state);
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  private async pushAllSecrets(): Promise<void> {
    const ids = new Set([...this.apiKeys.stored(), ...this.settings.providerIds()]);
    await Promise.all([...ids].map((id) => this.pushSecret(id, true)));
  }

  /**
   * Send one provider's key (or its absence) to the daemon; the key itself is never logged. Returns
   * the failure, if any, so the key commands can say so (and resolve only once the daemon has it).
   */
  async pushSecret(providerId: string, onlyIfSet = false): Promise<DaemonFailure | undefined> {
    const apiKey = (await this.apiKeys.get(providerId)) ?? null;
    if (onlyIfSet && apiKey === null) return undefined;
    const r = await this.call(methods.setSecret, { providerId, apiKey });
    if (r.ok) return undefined;
    if (r.failure.kind !== 'not_running')
      this.log.warn(`could not pass the API key of "${providerId}" to the daemon: ${describeFailure(r.failure)}`);
    return r.failure;
  }

  async dispose(): Promise<void> {
    this.clearRestartTimer();
    // After whatever start or restart is under way (doStop never throws), but not forever: a start
    // stuck in initialize must not hold up the extension host's shutdown.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.serialise(async () => {
        this.clearRestartTimer();
        await this.doStop();
      }),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 2 * STOP_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    this.stopping = true; // a close after this point is ours, not a crash
    this.daemonProcess?.kill();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
