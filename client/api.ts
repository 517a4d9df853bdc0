// What activate() returns: a small read-mostly surface for the extension-host tests and for other
// extensions. Waiting on events (not sleeps) is the point: tests subscribe instead of polling.
import type * as vscode from 'vscode';
import { RequestType, RequestType0 } from 'vscode-jsonrpc/node';
import type { FallbackEvent, LogMessage, Status } from '../protocol/types';
import type { CallResult, Ctx } from './ctx';
import type { ConfigRejection } from './daemonSettings';
import type { DaemonState } from './statusView';

export interface BackstopApi {
  readonly status: Status | undefined;
  readonly daemonState: DaemonState;
  /** Why the daemon is not running (shown in the status bar tooltip). */
  readonly daemonDetail: string | undefined;
  /** The daemon's process id while it runs. */
  readonly daemonPid: number | undefined;
  readonly statusBarText: string;
  /** The status item's tooltip (Markdown) and background colour id, as VS Code shows them. */
  readonly statusBarTooltip: string;
  readonly statusBarBackground: string | undefined;
  /** The remote-settings hint: which User settings file it reads, and a check on demand (misplaced keys). */
  readonly remoteSettings: { readonly userSettingsFile: string; check(): Promise<string[]> };
  /** Walkthrough steps whose context key is set (they complete from the real action). */
  readonly walkthroughSteps: string[];
  readonly configRejection: ConfigRejection | undefined;
  readonly onDidChangeStatus: vscode.Event<Status>;
  readonly onDidChangeDaemonState: vscode.Event<DaemonState>;
  readonly onFallback: vscode.Event<FallbackEvent>;
  readonly onConfigRejected: vscode.Event<ConfigRejection>;
  readonly onConfigApplied: vscode.Event<unknown>;
  /** Every log line the daemon sends (they also go to the "Backstop" output channel). */
  readonly onLog: vscode.Event<LogMessage>;
  /** Folder of the "Backstop" output channel's file (`Backstop.log`); tests check what it holds. */
  readonly logUri: vscode.Uri;
  /** The inline completion provider, for tests that drive it without the editor's ghost-text UI. */
  readonly inlineProvider: vscode.InlineCompletionItemProvider;
  /**
   * What activation cost, ms: `loadMs` from the bundle's first line until its modules are initialised,
   * `activateMs` inside activate(). `activationMs` is their sum.
   */
  readonly activation: { loadMs: number; activateMs: number };
  readonly activationMs: number;
  request<R>(type: RequestType0<R, void>): Promise<CallResult<R>>;
  request<P, R>(type: RequestType<P, R, void>, params: P): Promise<CallResult<R>>;
}

export function createApi(
  ctx: Ctx,
  inlineProvider: vscode.InlineCompletionItemProvider,
  activation: { loadMs: number; activateMs: number },
): BackstopApi {
  return {
    get status() {
      return ctx.status;
    },
    get daemonState() {
      return ctx.daemonState;
    },
    get daemonDetail() {
      return ctx.daemonDetail;
    },
    get daemonPid() {
      return ctx.daemonPid;
    },
    get statusBarText() {
      return ctx.statusBar.text;
    },
    get statusBarTooltip() {
      return ctx.statusBar.tooltip;
    },
    get statusBarBackground() {
      return ctx.statusBar.background;
    },
    get walkthroughSteps() {
      return ctx.walkthrough.marked;
    },
    remoteSettings: {
      userSettingsFile: ctx.remoteSettings.userSettingsFile,
      check: () => ctx.remoteSettings.check(),
    },
    get configRejection() {
      return ctx.settings.rejection;
    },
    inlineProvider,
    activation,
    activationMs: activation.loadMs + activation.activateMs,
    onDidChangeStatus: ctx.onDidChangeStatus,
    onDidChangeDaemonState: ctx.onDidChangeDaemonState,
    onFallback: ctx.onFallback,
    onConfigRejected: ctx.settings.onDidReject,
    onConfigApplied: ctx.settings.onDidApply,
    onLog: ctx.onLog,
    logUri: ctx.extension.logUri,
    // Callers (tests, other extensions) bundle their own copy of the protocol package, whose
    // ParameterStructures constants vscode-jsonrpc does not recognise ("Unknown parameter structure
    // auto"); only the method name is taken from their type.
    request: <P, R>(type: RequestType<P, R, void> | RequestType0<R, void>, params?: P) =>
      type.numberOfParams === 0
        ? ctx.call(new RequestType0<R, void>(type.method))
        : ctx.call(new RequestType<P, R, void>(type.method), params as P),
  } as BackstopApi;
}
