// Applies renderStatus() to a StatusBarItem. Re-renders only on events (daemon notifications,
// daemon state changes, local busy count); the only timer is the once-a-second countdown while
// the chain is exhausted, which counts down locally and never asks the daemon.
import * as vscode from 'vscode';
import { renderStatus, SHOW_DIAGNOSTICS_COMMAND, type StatusViewInput } from './statusView';

const COUNTDOWN_TICK_MS = 1000;

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private input: Omit<StatusViewInput, 'nowMs'> = { daemon: 'starting', busy: 0 };
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor() {
    this.item = vscode.window.createStatusBarItem('backstop.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Backstop';
    this.item.command = SHOW_DIAGNOSTICS_COMMAND;
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

  private render(): void {
    const view = renderStatus({ ...this.input, nowMs: Date.now() });
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
      label: `Backstop: ${view.text.replace(/\$\([^)]*\)\s*/g, '')}`,
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
    this.item.dispose();
  }
}
