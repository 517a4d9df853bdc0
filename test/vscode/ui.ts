// Scripted answers for the prompts the commands show (QuickPick, InputBox, notifications), so the
// extension-host tests drive the real command code end to end without a person at the keyboard.
//
// Why stubbing `vscode.window` works: the extension host hands every module under one extension's
// folder the SAME `vscode` API object, and both dist/extension.js and out/test/index.js live under
// the extension development path. So replacing `window.showQuickPick` here replaces it for the
// commands too. Production code is untouched; `restore()` puts the real functions back.
// Prompts nobody scripted fail the test (they would otherwise hang waiting for a person).
import * as vscode from 'vscode';
import { waitFor } from './waitFor';

export interface Shown {
  level: 'info' | 'warning' | 'error';
  text: string;
  buttons: string[];
  options?: vscode.MessageOptions;
}
export interface Progress {
  options: vscode.ProgressOptions;
  reports: { message?: string; increment?: number }[];
  cts: vscode.CancellationTokenSource;
}
export type QuickPickAnswer = (
  items: readonly vscode.QuickPickItem[],
  options: vscode.QuickPickOptions | undefined,
) => vscode.QuickPickItem | undefined;
export type InputBoxAnswer = (options: vscode.InputBoxOptions | undefined) => string | undefined;
export type MessageAnswer = (shown: Shown) => string | undefined;

type Win = Record<string, unknown>;
const STUBBED = [
  'showQuickPick',
  'showInputBox',
  'showInformationMessage',
  'showWarningMessage',
  'showErrorMessage',
  'withProgress',
  'setStatusBarMessage',
  'createQuickPick',
] as const;

export class Ui implements vscode.Disposable {
  readonly messages: Shown[] = [];
  readonly statusMessages: string[] = [];
  readonly progress: Progress[] = [];
  readonly quickPicks: vscode.QuickPick<vscode.QuickPickItem>[] = [];
  /** Titles/prompts of QuickPicks and InputBoxes in the order they were shown. */
  readonly prompts: string[] = [];
  private readonly quickPickAnswers: QuickPickAnswer[] = [];
  private readonly inputAnswers: InputBoxAnswer[] = [];
  private messageAnswer: MessageAnswer = () => undefined;
  private readonly saved = new Map<string, unknown>();
  private readonly clickers = new WeakMap<
    object,
    vscode.EventEmitter<vscode.QuickPickItemButtonEvent<vscode.QuickPickItem>>
  >();
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires after anything is recorded (a message, a progress report, a QuickPick created…). */
  readonly onDidChange = this.changed.event;

  constructor() {
    const win = vscode.window as unknown as Win;
    for (const k of STUBBED) this.saved.set(k, win[k]);
    const real = <F>(k: (typeof STUBBED)[number]): F => this.saved.get(k) as F;
    win.showQuickPick = async (
      items: readonly vscode.QuickPickItem[] | Thenable<readonly vscode.QuickPickItem[]>,
      options?: vscode.QuickPickOptions,
    ) => {
      const list = await items;
      this.prompts.push(options?.title ?? options?.placeHolder ?? '(QuickPick)');
      const answer = this.quickPickAnswers.shift();
      if (!answer)
        throw new Error(`unexpected QuickPick "${options?.title ?? ''}" with ${list.map((i) => i.label).join(', ')}`);
      return answer(list, options);
    };
    win.showInputBox = async (options?: vscode.InputBoxOptions) => {
      this.prompts.push(options?.title ?? options?.prompt ?? '(InputBox)');
      const answer = this.inputAnswers.shift();
      if (!answer) throw new Error(`unexpected InputBox "${options?.title ?? ''}"`);
      return answer(options);
    };
    const message =
      (level: Shown['level']) =>
      async (text: string, ...rest: unknown[]) => {
        const buttons = rest.filter((r): r is string => typeof r === 'string');
        const options =
          typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as vscode.MessageOptions) : undefined;
        const shown: Shown = { level, text, buttons, ...(options ? { options } : {}) };
        this.messages.push(shown);
        this.changed.fire();
        return this.messageAnswer(shown);
      };
    win.showInformationMessage = message('info');
    win.showWarningMessage = message('warning');
    win.showErrorMessage = message('error');
    win.setStatusBarMessage = (text: string, ...rest: unknown[]) => {
      this.statusMessages.push(text);
      this.changed.fire();
      return real<(t: string, ...r: unknown[]) => vscode.Disposable>('setStatusBarMessage')(text, ...rest);
    };
    // The real progress UI runs; the task gets a token the test can also cancel (as the Cancel button would).
    win.withProgress = <R>(
      options: vscode.ProgressOptions,
      task: (p: vscode.Progress<{ message?: string; increment?: number }>, t: vscode.CancellationToken) => Thenable<R>,
    ) => {
      const record: Progress = { options, reports: [], cts: new vscode.CancellationTokenSource() };
      this.progress.push(record);
      this.changed.fire();
      return real<typeof vscode.window.withProgress>('withProgress')(options, (p, token) => {
        const sub = token.onCancellationRequested(() => record.cts.cancel());
        const spy = {
          report: (v: { message?: string; increment?: number }) => {
            record.reports.push(v);
            p.report(v);
            this.changed.fire();
          },
        };
        return Promise.resolve(task(spy, record.cts.token)).finally(() => sub.dispose());
      });
    };
    // The REAL QuickPick is created and shown; tests drive it (see acceptItem) and read its items.
    win.createQuickPick = () => {
      const qp = real<typeof vscode.window.createQuickPick>('createQuickPick')();
      // Item buttons are clicked with the mouse; no workbench command triggers them. The command's
      // listener also hears clickItemButton(), which sends the same event the renderer would.
      const clicks = new vscode.EventEmitter<vscode.QuickPickItemButtonEvent<vscode.QuickPickItem>>();
      const realEvent = qp.onDidTriggerItemButton;
      const both: vscode.Event<vscode.QuickPickItemButtonEvent<vscode.QuickPickItem>> = (
        listener,
        thisArgs,
        disposables,
      ) =>
        vscode.Disposable.from(
          realEvent(listener, thisArgs, disposables),
          clicks.event(listener, thisArgs, disposables),
        );
      Object.defineProperty(qp, 'onDidTriggerItemButton', { value: both });
      this.clickers.set(qp, clicks);
      this.quickPicks.push(qp);
      this.changed.fire();
      return qp;
    };
  }

  /** Answer the next showQuickPick. */
  pick(answer: QuickPickAnswer): this {
    this.quickPickAnswers.push(answer);
    return this;
  }

  /** Answer the next showQuickPick with the item whose label contains `label`. */
  pickLabel(label: string): this {
    return this.pick((items) => {
      const item = items.find((i) => i.label.includes(label));
      if (!item) throw new Error(`no QuickPick item "${label}" in ${items.map((i) => i.label).join(', ')}`);
      return item;
    });
  }

  /** Answer the next showInputBox. */
  input(answer: InputBoxAnswer): this {
    this.inputAnswers.push(answer);
    return this;
  }

  /** How notifications are answered (default: dismissed). */
  answerMessages(answer: MessageAnswer): this {
    this.messageAnswer = answer;
    return this;
  }

  /** Resolves when `check` holds, re-checked on every recorded UI event. */
  until<T>(what: string, check: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const first = check();
      if (first) {
        resolve(first);
        return;
      }
      const timer = setTimeout(() => {
        sub.dispose();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`));
      }, timeoutMs);
      const sub = this.onDidChange(() => {
        const v = check();
        if (!v) return;
        clearTimeout(timer);
        sub.dispose();
        resolve(v);
      });
    });
  }

  /** Click the button with `tooltip` on the item of a real QuickPick created by a command. */
  clickItemButton(qp: vscode.QuickPick<vscode.QuickPickItem>, item: vscode.QuickPickItem, tooltip: string): void {
    const button = item.buttons?.find((b) => b.tooltip === tooltip);
    if (!button)
      throw new Error(
        `item "${item.label}" has no button "${tooltip}" (it has: ${item.buttons?.map((b) => b.tooltip).join(', ') ?? 'none'})`,
      );
    const clicks = this.clickers.get(qp);
    if (!clicks) throw new Error('that QuickPick was not created through the stubbed createQuickPick');
    clicks.fire({ button, item });
  }

  /** Unanswered scripted prompts mean the command did not ask what the test expected. */
  assertAllAnswered(): void {
    if (this.quickPickAnswers.length || this.inputAnswers.length) {
      throw new Error(
        `${this.quickPickAnswers.length} QuickPick and ${this.inputAnswers.length} InputBox answers were never asked for (prompts: ${this.prompts.join(' | ')})`,
      );
    }
  }

  dispose(): void {
    const win = vscode.window as unknown as Win;
    for (const [k, v] of this.saved) win[k] = v;
    this.changed.dispose();
  }
}

/**
 * Accept the item of a real, shown QuickPick that `match`es, the way a person would: arrow down to
 * it (workbench.action.quickOpenSelectNext) and press Enter (acceptSelectedQuickOpenItem). Each step
 * waits for the renderer to report the new active item, so nothing races the batched UI updates.
 */
export async function acceptItem(
  qp: vscode.QuickPick<vscode.QuickPickItem>,
  match: (i: vscode.QuickPickItem) => boolean,
): Promise<void> {
  const title = qp.title ?? '';
  const target = qp.items.findIndex(match);
  if (target < 0)
    throw new Error(`no such item in the QuickPick "${title}": ${qp.items.map((i) => i.label).join(', ')}`);
  await waitFor(
    `QuickPick "${title}" shown with an active item`,
    [qp.onDidChangeActive],
    () => qp.activeItems.length > 0,
  );
  for (let steps = 0; !match(qp.activeItems[0]!); steps++) {
    if (steps > qp.items.length) throw new Error(`could not reach the item in the QuickPick "${title}"`);
    const before = qp.activeItems[0];
    const moved = waitFor(
      `QuickPick "${title}" moves down`,
      [qp.onDidChangeActive],
      () => qp.activeItems[0] !== before,
    );
    await vscode.commands.executeCommand('workbench.action.quickOpenSelectNext');
    await moved;
  }
  await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
}
