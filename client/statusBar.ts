// Applies renderStatus() to a StatusBarItem. Re-renders only on events (daemon notifications,
// daemon state changes, local busy count); the only timer is the once-a-second countdown while
// the chain is exhausted, which counts down locally and never asks the daemon.
import * as vscode from 'vscode';
import { renderStatus, SHOW_DIAGNOSTICS_COMMAND, type StatusViewInput } from './statusView';

const COUNTDOWN_TICK_MS = 1000;
/** backstop.statusBar.compact: the icon and the score, without the name. */
export const COMPACT_SETTING = 'statusBar.compact';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private input: Omit<StatusViewInput, 'nowMs'> = { daemon: 'starting', busy: 0 };
  private ticker: ReturnType<typeof setInterval> | undefined;
  private compact = readCompact();
  private readonly configSub: vscode.Disposable;

  constructor() {
    this.item = vscode.window.createStatusBarItem('backstop.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Backstop';
    this.item.command = SHOW_DIAGNOSTICS_COMMAND;
    this.configSub = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(`backstop.${COMPACT_SETTING}`)) return;
      this.compact = readCompact();
      this.render();
    });
    this.render();
    this.item.show();
  }

  update(patch: Partial<Omit<StatusViewInput, 'nowMs'>>): void {
    this.input = { ...this.input, ...patch };
    this.render();
  }

  /** The text on screen (for tests and the diagnostics view). */
  get text(): string {
    return this.item.text;
  }

  /** The tooltip's Markdown, its background colour id (for tests). */
  get tooltip(): string {
    const t = this.item.tooltip;
    return typeof t === 'string' ? t : (t?.value ?? '');
  }
  get background(): string | undefined {
    return this.item.backgroundColor?.id;
  }

  private render(): void {
    const view = renderStatus({ ...this.input, nowMs: Date.now(), compact: this.compact });
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    tooltip.isTrusted = {
      enabledCommands: [
        'backstop.showDiagnostics',
        'backstop.switchPrimary',
        'backstop.showLogs',
        'backstop.restartDaemon',
      ],
    };
    this.item.tooltip = tooltip;
    this.item.accessibilityInformation = {
      // "Backstop: 66", "Backstop: untested", "Backstop: 4:55": the name once, then what the item says.
      label: `Backstop: ${view.text.replace(/\$\([^)]*\)\s*/g, '').replace(/^Backstop /, '')}`,
      role: 'button',
    };
    this.item.backgroundColor =
      view.background === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.background === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    if (view.ticking && !this.ticker) this.ticker = setInterval(() => this.render(), COUNTDOWN_TICK_MS);
    if (!view.ticking && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  dispose(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.configSub.dispose();
    this.item.dispose();
  }
}

function readCompact(): boolean {
  return vscode.workspace.getConfiguration('backstop').get<boolean>(COMPACT_SETTING) === true;
}
