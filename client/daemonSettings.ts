// The bridge from backstop.* settings to the daemon: the full config at start, the changed subset
// through backstop/setConfig afterwards (applied without a restart). The daemon validates; when it
// rejects a value the user sees which setting and why, and can jump to it.
import * as vscode from 'vscode';
import { methods, type ConfigInput } from '../protocol';
import type { Ctx } from './ctx';
import { describeFailure } from './rpcErrors';
import {
  CLIENT_SETTINGS, configFromSettings, configPathInMessage, configSubset, DAEMON_SETTINGS, SECTION, settingForConfigPath,
} from './settings';

export interface ConfigRejection { setting: string; message: string }

export class DaemonSettings implements vscode.Disposable {
  private readonly rejectedEmitter = new vscode.EventEmitter<ConfigRejection>();
  private readonly appliedEmitter = new vscode.EventEmitter<ConfigInput>();
  /** The daemon rejected a settings change. */
  readonly onDidReject = this.rejectedEmitter.event;
  /** The daemon accepted a settings change. */
  readonly onDidApply = this.appliedEmitter.event;
  private lastRejection: ConfigRejection | undefined;
  private readonly listener: vscode.Disposable;

  constructor(private readonly ctx: Ctx) {
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => void this.onChange(e));
  }

  get rejection(): ConfigRejection | undefined { return this.lastRejection; }

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

  providerIds(): string[] {
    const providers = this.get('providers');
    if (!Array.isArray(providers)) return [];
    return providers.flatMap((p: unknown) => (typeof p === 'object' && p !== null && typeof (p as { id?: unknown }).id === 'string' ? [(p as { id: string }).id] : []));
  }

  /** Write a setting where the user keeps it (workspace if set there, else user settings). */
  async update(key: string, value: unknown): Promise<void> {
    const cfg = vscode.workspace.getConfiguration(SECTION);
    const info = cfg.inspect(key);
    const target = info?.workspaceFolderValue !== undefined ? vscode.ConfigurationTarget.WorkspaceFolder
      : info?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace
      : vscode.ConfigurationTarget.Global;
    await cfg.update(key, value, target);
  }

  private async onChange(e: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!e.affectsConfiguration(SECTION)) return;
    if (e.affectsConfiguration(`${SECTION}.${CLIENT_SETTINGS.wsPort}`)) {
      this.ctx.log.info('backstop.server.wsPort changed: restarting the daemon to apply it');
      await this.ctx.restart();
      return;
    }
    const subset = configSubset((k) => this.get(k), (k) => e.affectsConfiguration(`${SECTION}.${k}`));
    if (!subset) return;
    // A daemon that refused to start (e.g. invalid settings) gets a new chance with the new settings.
    if (!this.ctx.running) {
      if (this.ctx.daemonState === 'failed') await this.ctx.restart();
      return;
    }
    const r = await this.ctx.call(methods.setConfig, subset);
    if (r.ok) {
      this.lastRejection = undefined;
      this.ctx.log.info(`settings applied: ${Object.keys(subset).join(', ')}`);
      this.appliedEmitter.fire(subset);
      return;
    }
    if (r.failure.kind === 'not_available' || r.failure.kind === 'not_running') return;
    const path = r.failure.kind === 'invalid_params' ? (r.failure.field ?? configPathInMessage(r.failure.message)) : undefined;
    const setting = path ? settingForConfigPath(path) : changedSettingName(e);
    this.reject({ setting, message: r.failure.kind === 'invalid_params' ? r.failure.message : describeFailure(r.failure) });
  }

  private reject(rejection: ConfigRejection): void {
    this.lastRejection = rejection;
    this.ctx.log.error(`setting ${rejection.setting} rejected by the daemon: ${rejection.message}`);
    this.rejectedEmitter.fire(rejection);
    void vscode.window
      .showErrorMessage(`Backstop: the daemon rejected ${rejection.setting}: ${rejection.message}. The previous value stays in effect.`, 'Open Setting')
      .then((pick) => {
        if (pick) void vscode.commands.executeCommand('workbench.action.openSettings', rejection.setting);
      });
  }

  dispose(): void {
    this.listener.dispose();
    this.rejectedEmitter.dispose();
    this.appliedEmitter.dispose();
  }
}

function changedSettingName(e: vscode.ConfigurationChangeEvent): string {
  const key = DAEMON_SETTINGS.find((k) => e.affectsConfiguration(`${SECTION}.${k}`));
  return key ? `${SECTION}.${key}` : SECTION;
}
