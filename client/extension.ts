// Entry point: build the Ctx, register commands and the inline provider, start the daemon.
// Activation does not wait for the daemon: the status bar shows it starting, and commands that
// need it explain when it is not there.
import * as vscode from 'vscode';
import { createApi, type BackstopApi } from './api';
import { BackstopChatProvider, VENDOR } from './chatProvider';
import { registerCommands } from './commands';
import { Ctx } from './ctx';
import { InlineProvider } from './inline';
import { INLINE_SCHEMES } from './inlineFilter';
import { watchGuard } from './privacy';
import { watchBudgets } from './budgetWarnings';

let ctx: Ctx | undefined;

/** Set by the bundle's first line (esbuild banner), before any module of the extension is initialised. */
declare const __backstopLoadStart: number | undefined;
/** What loading cost: the bundle's modules initialised (this entry module's body runs last). */
const loadMs = typeof __backstopLoadStart === 'number' ? performance.now() - __backstopLoadStart : 0;

export function activate(context: vscode.ExtensionContext): BackstopApi {
  const started = performance.now();
  ctx = new Ctx(context);
  registerCommands(ctx);
  const inline = new InlineProvider(ctx);
  const selector = INLINE_SCHEMES.map((scheme) => ({ scheme }));
  ctx.pushDisposable(vscode.languages.registerInlineCompletionItemProvider(selector, inline));
  // The chain in Chat's model picker and in `vscode.lm` for every extension.
  const chat = new BackstopChatProvider(ctx);
  ctx.pushDisposable(chat, vscode.lm.registerLanguageModelChatProvider(VENDOR, chat));
  // The lock on the status item while the privacy guard applies to the active editor.
  ctx.pushDisposable(watchGuard((localOnly) => ctx?.statusBar.update({ localOnly })));
  // A warning when a provider nears or reaches its spend budget (config budgets).
  ctx.pushDisposable(watchBudgets(ctx.onDidChangeStatus));
  void ctx.start();
  // Loading plus activate() itself; the host's own work between the two is not the extension's.
  return createApi(ctx, inline, { loadMs, activateMs: performance.now() - started });
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  await c?.dispose();
}
