// Machine-scoped backstop.* settings (backstop.providers, backstop.local.modelsDirs, …) come only from
// the Remote settings in a remote window (code-server, Remote-SSH, WSL, Codespaces): written into the
// User settings there, VS Code ignores them without a word and Backstop sees "no providers". This finds
// them in the User settings file and says so once, with a button that moves them to the Remote settings
// and one that opens that file.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Ctx } from './ctx';
import { ignoredMachineSettings, machineScopedKeys, type MisplacedSetting } from './misplacedSettings';

export const MOVE_TO_REMOTE = 'Move to Remote Settings';
export const OPEN_REMOTE = 'Open Remote Settings';
const SHOWN_STATE_KEY = 'backstop.remoteSettingsHint.shown';
/** File events come in bursts (write, rename): check once they settle. */
const CHECK_DEBOUNCE_MS = 300;

export class RemoteSettingsHint implements vscode.Disposable {
  /** The User settings file of this VS Code (profile): beside the extensions' globalStorage folder. */
  readonly userSettingsFile: string;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly ctx: Ctx) {
    this.userSettingsFile = path.join(ctx.extension.globalStorageUri.fsPath, '..', '..', 'settings.json');
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.file(path.dirname(this.userSettingsFile)), 'settings.json'),
    );
    const soon = (): void => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.check(), CHECK_DEBOUNCE_MS);
    };
    this.disposables.push(watcher, watcher.onDidChange(soon), watcher.onDidCreate(soon));
  }

  /** Look once; shows the hint (once per set of keys) and returns the misplaced keys. */
  async check(): Promise<string[]> {
    let text: string;
    try {
      text = await fs.readFile(this.userSettingsFile, 'utf8');
    } catch {
      return []; // no User settings file (or not readable from this host): nothing to say
    }
    const cfg = vscode.workspace.getConfiguration('backstop');
    const keys = machineScopedKeys(this.ctx.extension.extension.packageJSON);
    const misplaced = ignoredMachineSettings(text, keys, (k) => cfg.inspect(k)?.globalValue);
    if (misplaced.length === 0) return [];
    const names = misplaced.map((m) => `backstop.${m.key}`);
    const id = [...names].sort().join(',');
    const shown = this.ctx.extension.globalState.get<string[]>(SHOWN_STATE_KEY) ?? [];
    if (shown.includes(id)) return names;
    await this.ctx.extension.globalState.update(SHOWN_STATE_KEY, [...shown, id]);
    const list = names.join(', ');
    const one = names.length === 1;
    this.ctx.log.warn(`${list} ${one ? 'is' : 'are'} in the User settings, which this remote window ignores for it`);
    void vscode.window
      .showWarningMessage(
        `Backstop: ${list} ${one ? 'is' : 'are'} in your User settings, but in a remote window (code-server, SSH, ` +
          `WSL, Codespaces) VS Code reads ${one ? 'this machine setting' : 'these machine settings'} only from the ` +
          `Remote settings, so Backstop does not see ${one ? 'it' : 'them'}.`,
        MOVE_TO_REMOTE,
        OPEN_REMOTE,
      )
      .then(async (pick) => {
        if (pick === MOVE_TO_REMOTE) await this.move(misplaced);
        if (pick === OPEN_REMOTE) await vscode.commands.executeCommand('workbench.action.openRemoteSettingsFile');
      });
    return names;
  }

  /** Write the values where VS Code reads them: the user target of a machine setting is the Remote settings here. */
  private async move(misplaced: MisplacedSetting[]): Promise<void> {
    const cfg = vscode.workspace.getConfiguration('backstop');
    for (const m of misplaced) await cfg.update(m.key, m.value, vscode.ConfigurationTarget.Global);
    const names = misplaced.map((m) => `backstop.${m.key}`).join(', ');
    this.ctx.log.info(`moved ${names} to the Remote settings`);
    void vscode.window.showInformationMessage(
      `Backstop: ${names} now in the Remote settings. The copy in the User settings can go.`,
    );
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}
