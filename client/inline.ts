// Inline (ghost text) completions: off by default; debounced so typing does not flood the daemon;
// cancelled as soon as VS Code cancels; on its own chain (backstop.inline.chain) with a tight
// deadline; fill-in-the-middle through CompleteParams.suffix when the model supports it.
import * as vscode from 'vscode';
import * as methods from '../protocol/methods';
import type { CompleteParams } from '../protocol/types';
import type { Ctx } from './ctx';
import { isSecretsFile } from './inlineFilter';
import { guardFor } from './privacy';
import { CLIENT_SETTINGS } from './settings';

const DEFAULT_DEBOUNCE_MS = 300;
const DEFAULT_INLINE_TIMEOUT_MS = 3_000;
const DEFAULT_INLINE_MAX_TOKENS = 64;
const PREFIX_CHARS = 3_000;
const SUFFIX_CHARS = 1_000;

export class InlineProvider implements vscode.InlineCompletionItemProvider {
  constructor(private readonly ctx: Ctx) {}

  async provideInlineCompletionItems(
    doc: vscode.TextDocument,
    position: vscode.Position,
    _context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const s = this.ctx.settings;
    if (s.get(CLIENT_SETTINGS.inlineEnabled) !== true || !this.ctx.running || this.ctx.status?.exhausted)
      return undefined;
    if (isSecretsFile(doc.fileName)) return undefined;
    if (!(await debounce(num(s.get(CLIENT_SETTINGS.inlineDebounceMs), DEFAULT_DEBOUNCE_MS), token))) return undefined;

    const offset = doc.offsetAt(position);
    const chain = s.get('inline.chain');
    const timeoutMs = num(s.get('inline.timeoutMs'), DEFAULT_INLINE_TIMEOUT_MS);
    const params: CompleteParams = {
      prompt: doc.getText(new vscode.Range(doc.positionAt(Math.max(0, offset - PREFIX_CHARS)), position)),
      suffix: doc.getText(new vscode.Range(position, doc.positionAt(offset + SUFFIX_CHARS))),
      maxTokens: num(s.get('inline.maxTokens'), DEFAULT_INLINE_MAX_TOKENS),
      timeoutMs,
      priority: 'high',
      purpose: 'inline',
      ...guardFor(doc),
      stop: ['\n\n'],
      ...(Array.isArray(chain) && chain.length
        ? { chain: chain.filter((x): x is string => typeof x === 'string') }
        : {}),
    };
    // The deadline is the client's too: a late answer is useless once the user has typed on.
    const deadline = new vscode.CancellationTokenSource();
    const timer = setTimeout(() => deadline.cancel(), timeoutMs);
    const sub = token.onCancellationRequested(() => deadline.cancel());
    try {
      const r = await this.ctx.call(methods.complete, params, deadline.token);
      if (!r.ok || token.isCancellationRequested || !r.value.text) return undefined;
      return [new vscode.InlineCompletionItem(r.value.text, new vscode.Range(position, position))];
    } finally {
      clearTimeout(timer);
      sub.dispose();
      deadline.dispose();
    }
  }
}

/** Resolves false if cancelled during the wait. */
function debounce(ms: number, token: vscode.CancellationToken): Promise<boolean> {
  if (token.isCancellationRequested) return Promise.resolve(false);
  return new Promise((resolve) => {
    const sub = token.onCancellationRequested(() => {
      clearTimeout(t);
      sub.dispose();
      resolve(false);
    });
    const t = setTimeout(() => {
      sub.dispose();
      resolve(!token.isCancellationRequested);
    }, ms);
  });
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}
