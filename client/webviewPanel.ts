// Hosts the diagnostics webview: strict CSP (nonce from crypto.randomBytes, only dist/ loadable),
// typed messages checked by a runtime guard, and live updates from daemon notifications while open.
// A serializer brings the panel back after a window reload.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import * as methods from '../protocol/methods';
import type { ChainResult } from '../protocol/types';
import { configuredModels } from './configuredModels';
import type { Ctx } from './ctx';
import { persistChain } from './commands/switchPrimary';
import { describeFailure, type DaemonFailure } from './rpcErrors';
import {
  isFromWebview,
  type FromWebview,
  type Section,
  type SettingsValues,
  type Snapshot,
  type ToWebview,
} from '../protocol/webview';

const VIEW_TYPE = 'backstop.diagnostics';
const SETTINGS_KEYS: readonly (keyof SettingsValues)[] = ['timeoutMs', 'maxRetries', 'autoSwitch', 'monitorVram'];
/** After a status change (a request finished, a fallback) the history and counters are re-read once. */
const HISTORY_REFRESH_MS = 400;
/** How often a running monitoring session is read back (the daemon samples once a second). */
const MONITOR_POLL_MS = 1000;

export class DiagnosticsPanel implements vscode.Disposable {
  private static current: DiagnosticsPanel | undefined;
  private readonly subs: vscode.Disposable[] = [];
  private readonly postEmitter = new vscode.EventEmitter<ToWebview>();
  /** The running benchmark, cancelled by the view's Cancel button or when the panel closes. */
  private benchmarkCts: vscode.CancellationTokenSource | undefined;
  /** While the view's settings are written, one snapshot follows at the end instead of one per key. */
  private savingSettings = false;
  private disposed = false;
  private historyTimer: ReturnType<typeof setTimeout> | undefined;
  private monitorTimer: ReturnType<typeof setInterval> | undefined;
  /** Every message sent to the webview (the extension-host tests observe the replies here). */
  readonly onDidPost = this.postEmitter.event;

  static show(ctx: Ctx): DiagnosticsPanel {
    if (DiagnosticsPanel.current) {
      DiagnosticsPanel.current.panel.reveal();
      return DiagnosticsPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(
      VIEW_TYPE,
      'Backstop Diagnostics',
      vscode.ViewColumn.Active,
      webviewOptions(ctx),
    );
    return DiagnosticsPanel.adopt(ctx, panel);
  }

  /** Take over a panel VS Code restored after a reload (or any panel of this view type). */
  static adopt(ctx: Ctx, panel: vscode.WebviewPanel): DiagnosticsPanel {
    DiagnosticsPanel.current?.dispose();
    panel.webview.options = webviewOptions(ctx);
    DiagnosticsPanel.current = new DiagnosticsPanel(ctx, panel, webviewOptions(ctx).localResourceRoots[0]);
    return DiagnosticsPanel.current;
  }

  /** Restores the panel after a window reload, where it was, with a fresh snapshot. */
  static registerSerializer(ctx: Ctx): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      deserializeWebviewPanel: (panel) => {
        DiagnosticsPanel.adopt(ctx, panel);
        return Promise.resolve();
      },
    });
  }

  /** The panel that is open, if any. */
  static get open(): DiagnosticsPanel | undefined {
    return DiagnosticsPanel.current;
  }

  private constructor(
    private readonly ctx: Ctx,
    private readonly panel: vscode.WebviewPanel,
    dist: vscode.Uri,
  ) {
    panel.webview.html = html(panel.webview, dist);
    this.subs.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => void this.receive(m)),
      ctx.onDidChangeStatus((status) => {
        this.post({ type: 'status', status });
        this.historySoon();
      }),
      ctx.onModels((models) => this.post({ type: 'models', models })),
      ctx.onFallback((event) => {
        this.post({ type: 'fallback', event });
        this.historySoon();
      }),
      ctx.onBenchmarkProgress((progress) => this.post({ type: 'benchmarkProgress', progress })),
      ctx.onQueue((items) => this.event('info', 'queue', `queue: ${items.length} waiting`)),
      ctx.onLog((m) => {
        if (m.level === 'warn' || m.level === 'error') this.event(m.level, 'log', m.message);
      }),
      ctx.onDidChangeDaemonState((s) => this.event(s === 'failed' ? 'error' : 'info', 'status', `daemon ${s}`)),
      ctx.settings.onDidReject((r) => this.event('error', 'log', `${r.setting} rejected: ${r.message}`)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('backstop') && !this.savingSettings) void this.sendSnapshot();
      }),
    );
  }

  /**
   * One message from the webview, checked by the runtime guard (a webview is untrusted input).
   * Resolves false when the message was dropped, true once it has been handled. Public so the
   * extension-host tests can send what a webview could send, malformed messages included.
   */
  async receive(m: unknown): Promise<boolean> {
    if (!isFromWebview(m)) {
      this.ctx.log.warn('diagnostics view: dropped a malformed message');
      return false;
    }
    await this.handle(m);
    return true;
  }

  private post(message: ToWebview): void {
    if (this.disposed) return; // e.g. a cancelled benchmark finishing after the panel closed
    void this.panel.webview.postMessage(message);
    this.postEmitter.fire(message);
  }

  private event(
    level: 'info' | 'warn' | 'error',
    kind: 'fallback' | 'status' | 'log' | 'benchmark' | 'queue',
    text: string,
  ): void {
    this.post({ type: 'event', event: { at: new Date().toISOString(), level, kind, text } });
  }

  private async handle(m: FromWebview): Promise<void> {
    switch (m.type) {
      case 'ready':
      case 'refresh':
        return this.sendSnapshot();
      case 'showLogs':
        return this.ctx.log.show();
      case 'setPrimary':
        return this.applyChain(this.ctx.call(methods.setPrimary, { model: m.model }), 'chain');
      case 'setChain':
        return this.applyChain(this.ctx.call(methods.setChain, { chain: m.chain }), 'chain');
      case 'benchmark':
        return this.benchmark(m.models);
      case 'cancelBenchmark':
        this.benchmarkCts?.cancel();
        return;
      case 'saveSettings': {
        const s = m.settings;
        const changed = SETTINGS_KEYS.filter((k) => this.ctx.settings.get(k) !== s[k]);
        return this.writeSettings(changed, false, (k) => this.ctx.settings.update(k, s[k]).then(() => true));
      }
      case 'resetSettings':
        return this.writeSettings(SETTINGS_KEYS, true, (k) => this.ctx.settings.reset(k));
      case 'monitorStart':
      case 'monitorStop': {
        this.post({ type: 'monitor', samples: [], running: m.type === 'monitorStart' });
        const r = await this.ctx.call(
          methods.monitor,
          m.type === 'monitorStart' ? { action: 'start', durationS: m.durationS } : { action: 'stop' },
        );
        if (r.ok) {
          this.post({ type: 'monitor', samples: r.value.samples, running: r.value.running ?? false });
          this.followMonitor(r.value.running ?? false);
        } else {
          this.post({ type: 'monitor', samples: [], running: false });
          this.unavailable('monitor', r.failure);
        }
        return;
      }
    }
  }

  /** While a session runs, read its samples back every second so the chart grows live. */
  private followMonitor(running: boolean): void {
    if (!running || this.disposed) {
      if (this.monitorTimer) clearInterval(this.monitorTimer);
      this.monitorTimer = undefined;
      return;
    }
    this.monitorTimer ??= setInterval(() => void this.pollMonitor(), MONITOR_POLL_MS);
  }

  private async pollMonitor(): Promise<void> {
    const r = await this.ctx.call(methods.monitor, { action: 'get' });
    if (!r.ok) return this.followMonitor(false);
    const running = r.value.running ?? false;
    this.post({ type: 'monitor', samples: r.value.samples, running });
    if (!running) this.followMonitor(false);
  }

  private historySoon(): void {
    if (this.historyTimer || this.disposed) return;
    this.historyTimer = setTimeout(() => {
      this.historyTimer = undefined;
      void this.sendHistory();
    }, HISTORY_REFRESH_MS);
  }

  private async sendHistory(): Promise<void> {
    const [events, stats] = await Promise.all([this.ctx.call(methods.events, {}), this.ctx.call(methods.stats)]);
    if (events.ok)
      this.post({ type: 'history', events: events.value.events, ...(stats.ok ? { stats: stats.value } : {}) });
  }

  private async benchmark(models: string[] | undefined): Promise<void> {
    if (this.benchmarkCts) return; // one at a time; the view disables its buttons meanwhile
    const cts = (this.benchmarkCts = new vscode.CancellationTokenSource());
    this.post({ type: 'busy', section: 'benchmark', busy: true });
    try {
      const r = await this.ctx.busy(this.ctx.call(methods.benchmark, models ? { models } : {}, cts.token));
      if (r.ok) this.post({ type: 'benchmarkResults', results: r.value.results });
      else if (r.failure.kind === 'cancelled') this.event('info', 'benchmark', 'benchmark cancelled');
      else this.unavailable('benchmark', r.failure);
    } finally {
      this.benchmarkCts = undefined;
      cts.dispose();
      this.post({ type: 'busy', section: 'benchmark', busy: false });
    }
  }

  /** Write the keys one by one (each is a setConfig), then one snapshot and one confirmation. */
  private async writeSettings(
    keys: readonly (keyof SettingsValues)[],
    reset: boolean,
    write: (k: keyof SettingsValues) => Promise<boolean>,
  ): Promise<void> {
    const changed: (keyof SettingsValues)[] = [];
    this.savingSettings = true;
    try {
      for (const k of keys) if (await write(k)) changed.push(k);
    } finally {
      this.savingSettings = false;
    }
    if (changed.length) await this.sendSnapshot();
    this.post({ type: 'settingsSaved', changed, reset });
  }

  private async applyChain(
    request: Promise<{ ok: true; value: ChainResult } | { ok: false; failure: DaemonFailure }>,
    section: Section,
  ): Promise<void> {
    const r = await request;
    if (!r.ok) {
      void vscode.window.showWarningMessage(`Backstop: ${describeFailure(r.failure)}`);
      this.unavailable(section, r.failure);
      return;
    }
    await persistChain(this.ctx, r.value);
    this.event('info', 'status', `chain: ${r.value.chain.join(' → ')} (${r.value.strategy})`);
  }

  private unavailable(section: Section, f: DaemonFailure): void {
    if (f.kind === 'cancelled') return;
    this.post({
      type: 'unavailable',
      section,
      message: f.kind === 'not_available' ? 'Not available yet in this daemon version.' : describeFailure(f),
    });
  }

  /** One round of requests for the full picture; sections the daemon lacks say so instead of failing the view. */
  private async sendSnapshot(): Promise<void> {
    const c = this.ctx;
    const [status, health, system, models, stats, history, config, monitor, usage] = await Promise.all([
      c.fetchStatus(),
      c.call(methods.health),
      c.call(methods.system),
      c.fetchModels(),
      c.call(methods.stats),
      c.call(methods.events, {}),
      c.call(methods.getConfig),
      c.call(methods.monitor, { action: 'get' }),
      c.call(methods.usage),
    ]);
    const unavailable: Snapshot['unavailable'] = {};
    const note = (s: Section, r: { ok: boolean; failure?: DaemonFailure }): void => {
      if (!r.ok && r.failure)
        unavailable[s] =
          r.failure.kind === 'not_available' ? 'Not available yet in this daemon version.' : describeFailure(r.failure);
    };
    note('status', status);
    note('health', health);
    note('system', system);
    note('models', models);
    note('stats', stats);
    const get = (k: keyof SettingsValues): unknown => c.settings.get(k);
    const snapshot: Snapshot = {
      settings: {
        timeoutMs: Number(get('timeoutMs') ?? 30_000),
        maxRetries: Number(get('maxRetries') ?? 2),
        autoSwitch: get('autoSwitch') !== false,
        monitorVram: get('monitorVram') !== false,
      },
      unavailable,
      // Pushes that came while these requests were out are newer than the answers: c.status, c.models.
      ...(c.status ? { status: c.status } : {}),
      ...(health.ok ? { health: health.value } : {}),
      ...(system.ok ? { system: system.value } : {}),
      ...(models.ok ? { models: c.models ?? models.value } : {}),
      ...(stats.ok ? { stats: stats.value } : {}),
      ...(usage.ok ? { usage: usage.value } : {}),
      ...(history.ok ? { history: history.value.events } : {}),
      ...(config.ok && models.ok ? { configured: configuredModels(config.value, c.models ?? models.value) } : {}),
    };
    this.post({ type: 'snapshot', snapshot });
    // A session that runs on (the view was reloaded meanwhile) is followed again.
    if (monitor.ok && monitor.value.samples.length) {
      this.post({ type: 'monitor', samples: monitor.value.samples, running: monitor.value.running ?? false });
      this.followMonitor(monitor.value.running ?? false);
    }
  }

  dispose(): void {
    DiagnosticsPanel.current = undefined;
    this.disposed = true;
    this.benchmarkCts?.cancel();
    if (this.historyTimer) clearTimeout(this.historyTimer);
    this.followMonitor(false);
    for (const d of this.subs.splice(0)) d.dispose();
    this.postEmitter.dispose();
    this.panel.dispose();
  }
}

function webviewOptions(ctx: Ctx): vscode.WebviewOptions & { localResourceRoots: [vscode.Uri] } {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(ctx.extension.extensionUri, 'dist')] };
}

function html(webview: vscode.Webview, dist: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css'));
  const codicons = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'codicon.css'));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<link rel="stylesheet" href="${codicons}" id="vscode-codicon-stylesheet">
<title>Backstop Diagnostics</title>
</head>
<body>
<main id="app" aria-live="polite"><p>Loading diagnostics…</p></main>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
