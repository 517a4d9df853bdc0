// The bridge from backstop.* settings to the daemon: the full config at start, the changed subset
// through backstop/setConfig afterwards (applied without a restart). The daemon validates; when it
// rejects a value the user sees which setting and why, and can jump to it.
import * as vscode from 'vscode';
import type { RequestType } from 'vscode-jsonrpc/node';
import * as methods from '../protocol/methods';
import { STRATEGIES } from '../protocol/enums';
import type { ConfigInput } from '../protocol/config';
import type { Strategy } from '../protocol/types';
import { describeFailure, type CallResult } from './rpcErrors';
import {
  CLIENT_SETTINGS,
  configFromSettings,
  configPathInMessage,
  configSubset,
  DAEMON_SETTINGS,
  SECTION,
  settingForConfigPath,
  type DaemonSetting,
} from './settings';
import type { DaemonState } from './statusView';

export interface ConfigRejection {
  setting: string;
  message: string;
}

/**
 * What the bridge needs of the extension's context. Ctx provides it; declared here so that this
 * module does not import ctx.ts, which creates the bridge.
 */
export interface SettingsHost {
  readonly log: Pick<vscode.LogOutputChannel, 'info' | 'error'>;
  readonly running: boolean;
  readonly daemonState: DaemonState;
  readonly onDidChangeDaemonState: vscode.Event<DaemonState>;
  restart(): Promise<boolean>;
  call<P, R>(type: RequestType<P, R, void>, params: P): Promise<CallResult<R>>;
}

export class DaemonSettings implements vscode.Disposable {
  private readonly rejectedEmitter = new vscode.EventEmitter<ConfigRejection>();
  private readonly appliedEmitter = new vscode.EventEmitter<ConfigInput>();
  /** The daemon rejected a settings change. */
  readonly onDidReject = this.rejectedEmitter.event;
  /** The daemon accepted a settings change. */
  readonly onDidApply = this.appliedEmitter.event;
  private lastRejection: ConfigRejection | undefined;
  private readonly listeners: vscode.Disposable[];
  /**
   * Settings changed while the daemon was starting: its initializationOptions may already have
   * been read, so they are sent once it runs.
   */
  private readonly pending = new Set<DaemonSetting>();

  constructor(private readonly ctx: SettingsHost) {
    this.listeners = [
      vscode.workspace.onDidChangeConfiguration((e) => void this.onChange(e)),
      ctx.onDidChangeDaemonState((state) => {
        if (state === 'running') void this.flushPending();
      }),
    ];
  }

  get rejection(): ConfigRejection | undefined {
    return this.lastRejection;
  }

  get(key: string): unknown {
    return vscode.workspace.getConfiguration(SECTION).get(key);
  }

  fullConfig(): ConfigInput {
    return configFromSettings((k) => this.get(k));
  }

  /** Extra `backstop serve` arguments that only a (re)start can apply. */
  serveArgs(): string[] {
    const port = this.get(CLIENT_SETTINGS.wsPort);
    return typeof port === 'number' && Number.isInteger(port) && port >= 0 ? ['--ws', String(port)] : [];
  }

  /** backstop.chain as configured (the daemon's chain until it reports its own). */
  chain(): string[] {
    const chain = this.get('chain');
    return Array.isArray(chain) ? chain.filter((x): x is string => typeof x === 'string') : [];
  }

  /** backstop.strategy as configured. */
  strategy(): Strategy {
    const s = this.get('strategy');
    return typeof s === 'string' && (STRATEGIES as readonly string[]).includes(s) ? (s as Strategy) : 'sequential';
  }

  providerIds(): string[] {
    const providers = this.get('providers');
    if (!Array.isArray(providers)) return [];
    return providers.flatMap((p: unknown) =>
      typeof p === 'object' && p !== null && typeof (p as { id?: unknown }).id === 'string'
        ? [(p as { id: string }).id]
        : [],
    );
  }

  /** Write a setting where the user keeps it (workspace if set there, else user settings). */
  async update(key: string, value: unknown): Promise<void> {
    const cfg = vscode.workspace.getConfiguration(SECTION);
    const info = cfg.inspect(key);
    const target =
      info?.workspaceFolderValue !== undefined
        ? vscode.ConfigurationTarget.WorkspaceFolder
        : info?.workspaceValue !== undefined
          ? vscode.ConfigurationTarget.Workspace
          : vscode.ConfigurationTarget.Global;
    await cfg.update(key, value, target);
  }

  /** Remove a setting from every place that holds a value (user, workspace, each folder). Returns whether any did. */
  async reset(key: string): Promise<boolean> {
    let any = false;
    const cfg = vscode.workspace.getConfiguration(SECTION);
    const info = cfg.inspect(key);
    if (info?.globalValue !== undefined) {
      await cfg.update(key, undefined, vscode.ConfigurationTarget.Global);
      any = true;
    }
    if (info?.workspaceValue !== undefined) {
      await cfg.update(key, undefined, vscode.ConfigurationTarget.Workspace);
      any = true;
    }
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const scoped = vscode.workspace.getConfiguration(SECTION, folder.uri);
      if (scoped.inspect(key)?.workspaceFolderValue === undefined) continue;
      await scoped.update(key, undefined, vscode.ConfigurationTarget.WorkspaceFolder);
      any = true;
    }
    return any;
  }

  private async onChange(e: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!e.affectsConfiguration(SECTION)) return;
    if (e.affectsConfiguration(`${SECTION}.${CLIENT_SETTINGS.wsPort}`)) {
      this.ctx.log.info('backstop.server.wsPort changed: restarting the daemon to apply it');
      await this.ctx.restart();
      return;
    }
    const changed = DAEMON_SETTINGS.filter((k) => e.affectsConfiguration(`${SECTION}.${k}`));
    if (!changed.length) return;
    // A daemon that refused to start (e.g. invalid settings) gets a new chance with the new settings.
    if (this.ctx.daemonState === 'failed') {
      await this.ctx.restart();
      return;
    }
    if (!this.ctx.running || this.ctx.daemonState !== 'running') {
      for (const k of changed) this.pending.add(k);
      return;
    }
    await this.send(changed);
  }

  private async flushPending(): Promise<void> {
    if (!this.pending.size) return;
    const keys = [...this.pending];
    this.pending.clear();
    this.ctx.log.info(`sending settings changed during start-up: ${keys.join(', ')}`);
    await this.send(keys);
  }

  private async send(keys: readonly DaemonSetting[]): Promise<void> {
    const subset = configSubset(
      (k) => this.get(k),
      (k) => keys.includes(k),
    );
    if (!subset) return;
    const r = await this.ctx.call(methods.setConfig, subset);
    if (r.ok) {
      this.lastRejection = undefined;
      this.ctx.log.info(`settings applied: ${Object.keys(subset).join(', ')}`);
      this.appliedEmitter.fire(subset);
      return;
    }
    if (r.failure.kind === 'not_available' || r.failure.kind === 'not_running') return;
    const path =
      r.failure.kind === 'invalid_params' ? (r.failure.field ?? configPathInMessage(r.failure.message)) : undefined;
    const setting = path ? settingForConfigPath(path) : keys[0] ? `${SECTION}.${keys[0]}` : SECTION;
    this.reject({
      setting,
      message: r.failure.kind === 'invalid_params' ? r.failure.message : describeFailure(r.failure),
    });
  }

  private reject(rejection: ConfigRejection): void {
    this.lastRejection = rejection;
    this.ctx.log.error(`setting ${rejection.setting} rejected by the daemon: ${rejection.message}`);
    this.rejectedEmitter.fire(rejection);
    void vscode.window
      .showErrorMessage(
        `Backstop: the daemon rejected ${rejection.setting}: ${rejection.message}. The previous value stays in effect.`,
        'Open Setting',
      )
      .then((pick) => {
        if (pick) void vscode.commands.executeCommand('workbench.action.openSettings', rejection.setting);
      });
  }

  dispose(): void {
    for (const l of this.listeners) l.dispose();
    this.rejectedEmitter.dispose();
    this.appliedEmitter.dispose();
  }
}
