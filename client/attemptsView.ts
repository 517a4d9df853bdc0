// "Show Attempts": a read-only Markdown document per request (scheme backstop-attempts), opened in the
// Markdown preview when there is one. The last few traces are kept in memory only.
import * as vscode from 'vscode';
import { renderTrace, type RequestTrace } from './attemptsTrace';

export const ATTEMPTS_SCHEME = 'backstop-attempts';
/** Traces kept for "Show Attempts" (older ones are dropped: it is a view of recent requests). */
const MAX_TRACES = 20;

export class AttemptsView implements vscode.Disposable {
  private readonly traces = new Map<string, RequestTrace>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly registration: vscode.Disposable;
  private seq = 0;

  constructor() {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(ATTEMPTS_SCHEME, {
      onDidChange: this.changed.event,
      provideTextDocumentContent: (uri) => {
        const t = this.traces.get(uri.path.replace(/^\//, '').replace(/\.md$/, ''));
        return t ? renderTrace(t) : '# Backstop request\n\nThis trace is no longer kept (only the last 20 are).\n';
      },
    });
  }

  /** Keep a trace; returns the uri that shows it. */
  add(trace: RequestTrace): vscode.Uri {
    const key = `${++this.seq}-${trace.id.replace(/[^\w-]/g, '')}`.slice(0, 60);
    this.traces.set(key, trace);
    while (this.traces.size > MAX_TRACES) {
      const oldest = this.traces.keys().next().value;
      if (oldest === undefined) break;
      this.traces.delete(oldest);
    }
    return vscode.Uri.from({ scheme: ATTEMPTS_SCHEME, path: `/${key}.md` });
  }

  /** Open the trace: the Markdown preview if the built-in Markdown extension is there, else the text. */
  async open(uri: vscode.Uri): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(uri);
    const commands = await vscode.commands.getCommands(true);
    if (commands.includes('markdown.showPreview')) await vscode.commands.executeCommand('markdown.showPreview', uri);
    else await vscode.window.showTextDocument(doc, { preview: true });
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}
