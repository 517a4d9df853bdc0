// backstop.complete: complete at the cursor (fill-in-the-middle with the text after it) or replace
// the selection. Progress with cancel; afterwards say which model answered and why it fell back.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { methods, type CompleteParams, type CompleteResult, type FallbackPlan } from '../../protocol';
import type { Ctx } from '../ctx';
import { offerToQueue } from '../exhausted';
import { formatAttempts } from '../modelItems';
import { describeFailure } from '../rpcErrors';
import { CLIENT_SETTINGS } from '../settings';

/** Context sent around the cursor: enough for a completion, small enough to stay fast. */
const PREFIX_CHARS = 6_000;
const SUFFIX_CHARS = 2_000;
const DEFAULT_MAX_TOKENS = 128;

export interface CompleteArgs { prompt?: string; maxTokens?: number }

export const complete = (ctx: Ctx) => async (arg?: unknown): Promise<CompleteResult | undefined> => {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('Backstop: open an editor and place the cursor where the completion should go.');
    return undefined;
  }
  const args = (typeof arg === 'object' && arg !== null ? arg : {}) as CompleteArgs;
  const doc = editor.document;
  const sel = editor.selection;
  const range = new vscode.Range(sel.start, sel.end);
  const configured = ctx.settings.get(CLIENT_SETTINGS.completeMaxTokens);
  const params: CompleteParams = {
    maxTokens: args.maxTokens ?? (typeof configured === 'number' ? configured : DEFAULT_MAX_TOKENS),
    priority: 'high',
  };
  if (args.prompt !== undefined) params.prompt = args.prompt;
  else if (!sel.isEmpty) params.prompt = doc.getText(sel);
  else {
    const offset = doc.offsetAt(sel.active);
    params.prompt = doc.getText(new vscode.Range(doc.positionAt(Math.max(0, offset - PREFIX_CHARS)), sel.active));
    params.suffix = doc.getText(new vscode.Range(sel.active, doc.positionAt(offset + SUFFIX_CHARS)));
  }
  if (ctx.status?.exhausted && !(await offerToQueue(ctx, {}))) return undefined;

  for (;;) {
    const outcome = await run(ctx, params);
    if (outcome.kind === 'ok') {
      await editor.edit((b) => b.replace(doc.validateRange(range), outcome.result.text));
      announce(ctx, outcome.result);
      return outcome.result;
    }
    if (outcome.kind === 'exhausted' && (await offerToQueue(ctx, outcome))) continue;
    return undefined;
  }
};

type RunOutcome =
  | { kind: 'ok'; result: CompleteResult }
  | { kind: 'exhausted'; retryAfterMs?: number; plan?: FallbackPlan }
  | { kind: 'failed' };

async function run(ctx: Ctx, base: CompleteParams): Promise<RunOutcome> {
  const streamId = randomUUID();
  const params = { ...base, streamId };
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Backstop', cancellable: true },
    async (progress, token) => {
      progress.report({ message: 'asking the chain…' });
      let chars = 0;
      const sub = ctx.onStream((d) => {
        if (d.streamId !== streamId) return;
        chars = d.reset ? d.delta.length : chars + d.delta.length;
        progress.report({ message: `${d.model}${d.reset ? ' (restarted after a failure)' : ''}: ${chars} characters…` });
      });
      try {
        const r = await ctx.busy(ctx.call(methods.complete, params, token));
        if (r.ok) return { kind: 'ok', result: r.value } as const;
        if (r.failure.kind === 'exhausted') {
          ctx.log.warn(`complete: exhausted: ${r.failure.message}`);
          if (r.failure.data?.attempts) for (const line of formatAttempts(r.failure.data.attempts)) ctx.log.warn(`  ${line}`);
          return { kind: 'exhausted', ...(r.failure.retryAfterMs !== undefined ? { retryAfterMs: r.failure.retryAfterMs } : {}), ...(r.failure.plan ? { plan: r.failure.plan } : {}) } as const;
        }
        if (r.failure.kind !== 'cancelled') void vscode.window.showErrorMessage(`Backstop: the completion failed. ${describeFailure(r.failure)}`, 'Show Logs').then((p) => { if (p) ctx.log.show(); });
        return { kind: 'failed' } as const;
      } finally {
        sub.dispose();
      }
    },
  );
}

/** Which model answered, and why the ones before it did not. */
export function fallbackReason(result: CompleteResult): string | undefined {
  if (!result.fallbackOccurred) return undefined;
  const failed = result.attempts.filter((a) => a.outcome !== 'success' && a.model !== result.modelUsed);
  const first = failed[0];
  if (!first) return undefined;
  const models = [...new Set(failed.map((a) => a.model))].join(', ');
  return `${models} failed (${first.failure ?? first.outcome}${first.message ? `: ${first.message}` : ''})`;
}

function announce(ctx: Ctx, result: CompleteResult): void {
  ctx.log.info(`complete: ${result.modelUsed} answered in ${Math.round(result.totalLatencyMs)} ms${result.fallbackOccurred ? ' after fallback' : ''}`);
  for (const line of formatAttempts(result.attempts)) ctx.log.info(`  ${line}`);
  const why = fallbackReason(result);
  if (why) {
    void vscode.window.showInformationMessage(`Backstop: answered by ${result.modelUsed} (fallback: ${why}).`, 'Show Attempts')
      .then((p) => { if (p) ctx.log.show(true); });
  } else {
    vscode.window.setStatusBarMessage(`$(check) Backstop: ${result.modelUsed} answered in ${Math.round(result.totalLatencyMs)} ms`, 5_000);
  }
}
