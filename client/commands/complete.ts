// backstop.complete: complete at the cursor (fill-in-the-middle with the text after it) or replace
// the selection. Progress with cancel; afterwards say which model answered and why it fell back.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import * as methods from '../../protocol/methods';
import type { CompleteParams, CompleteResult, FallbackPlan } from '../../protocol/types';
import type { Ctx } from '../ctx';
import { offerToQueue, SHOW_ATTEMPTS } from '../exhausted';
import { humanDuration } from '../../protocol/humanTime';
import { reasonsPerModel, traceOf, type RequestTrace } from '../attemptsTrace';
import { describeFailure, exhaustedText } from '../rpcErrors';
import { guardFor } from '../privacy';
import { CLIENT_SETTINGS } from '../settings';
import { isModelId } from '../../protocol/modelId';
import { queuedText } from '../../protocol/waitText';

/** How often the queued countdown in the progress notification moves. */
const COUNTDOWN_TICK_MS = 1000;

/** Context sent around the cursor: enough for a completion, small enough to stay fast. */
const PREFIX_CHARS = 6_000;
const SUFFIX_CHARS = 2_000;
const DEFAULT_MAX_TOKENS = 128;

export interface CompleteArgs {
  prompt?: string;
  maxTokens?: number;
}

export const complete =
  (ctx: Ctx) =>
  async (arg?: unknown): Promise<CompleteResult | undefined> => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage(
        'Backstop: open an editor and place the cursor where the completion should go.',
      );
      return undefined;
    }
    const args = (typeof arg === 'object' && arg !== null ? arg : {}) as CompleteArgs;
    const doc = editor.document;
    const sel = editor.selection;
    const range = new vscode.Range(sel.start, sel.end);
    // The answer may take a while (and a queued one much longer): it goes into `range` only if the
    // document is still the one the range was taken from.
    const version = doc.version;
    const configured = ctx.settings.get(CLIENT_SETTINGS.completeMaxTokens);
    const params: CompleteParams = {
      maxTokens: args.maxTokens ?? (typeof configured === 'number' ? configured : DEFAULT_MAX_TOKENS),
      priority: 'high',
      purpose: 'complete',
      ...guardFor(doc),
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
        await place(ctx, doc, version, range, outcome.result);
        announce(ctx, outcome.result, outcome.trace);
        return outcome.result;
      }
      if (outcome.kind === 'exhausted' && (await offerToQueue(ctx, outcome))) continue;
      return undefined;
    }
  };

export const INSERT_AT_CURSOR = 'Insert at Cursor';
export const COPY = 'Copy';

/** Put the answer where it belongs, or, when that place is gone, where the user says. */
async function place(
  ctx: Ctx,
  doc: vscode.TextDocument,
  version: number,
  range: vscode.Range,
  result: CompleteResult,
): Promise<void> {
  const text = result.text;
  if (doc.isClosed) {
    await vscode.env.clipboard.writeText(text);
    ctx.log.info(`complete: the document was closed before ${result.modelUsed} answered; the answer:\n${text}`);
    void vscode.window.showWarningMessage(
      'Backstop: the document was closed before the completion arrived. The answer is in the clipboard and in "Backstop: Show Logs".',
    );
    return;
  }
  if (doc.version !== version) {
    const pick = await vscode.window.showWarningMessage(
      'Backstop: the document changed while the completion ran, so the original place may be wrong. Where should the answer go?',
      INSERT_AT_CURSOR,
      COPY,
    );
    if (pick === INSERT_AT_CURSOR && !doc.isClosed) {
      const editor = vscode.window.visibleTextEditors.find((e) => e.document === doc);
      const at = editor ? editor.selection : new vscode.Selection(range.end, range.end);
      await apply(ctx, doc, at, text);
    } else if (pick) {
      await vscode.env.clipboard.writeText(text);
      vscode.window.setStatusBarMessage('Backstop: completion copied to the clipboard', 5_000);
    } else {
      ctx.log.info(`complete: answer not inserted (the document changed and the question was dismissed):\n${text}`);
    }
    return;
  }
  await apply(ctx, doc, range, text);
}

async function apply(ctx: Ctx, doc: vscode.TextDocument, range: vscode.Range, text: string): Promise<void> {
  const edit = new vscode.WorkspaceEdit();
  edit.replace(doc.uri, doc.validateRange(range), text);
  if (await vscode.workspace.applyEdit(edit)) return;
  await vscode.env.clipboard.writeText(text);
  ctx.log.warn(
    `complete: the editor refused the edit of ${doc.uri.toString()}; the answer was copied to the clipboard`,
  );
  void vscode.window.showErrorMessage(
    'Backstop: the completion could not be written into the document (is it read-only?). It is in the clipboard.',
  );
}

type RunOutcome =
  | { kind: 'ok'; result: CompleteResult; trace: RequestTrace }
  | { kind: 'exhausted'; retryAfterMs?: number; plan?: FallbackPlan; trace: RequestTrace }
  | { kind: 'failed' };

/**
 * While the request waits in the daemon's queue, the progress notification counts the estimate down
 * ("queued behind 2 requests: about 12 s"), until the first words of the answer arrive.
 */
async function queuedCountdown(
  ctx: Ctx,
  params: CompleteParams,
  report: (message: string) => void,
): Promise<{ stop(): void }> {
  const primary = params.chain?.[0] ?? ctx.status?.chain[0];
  const noop = { stop: () => undefined };
  if (!primary || !isModelId(primary)) return noop;
  const est = await ctx.call(methods.estimateWait, {
    model: primary,
    ...(params.priority ? { priority: params.priority } : {}),
    ...(params.maxTokens ? { maxTokens: params.maxTokens } : {}),
  });
  if (!est.ok || queuedText(est.value) === undefined) return noop;
  const started = Date.now();
  const tick = () => {
    const text = queuedText(est.value, Date.now() - started);
    if (text) report(text);
  };
  tick();
  const timer = setInterval(tick, COUNTDOWN_TICK_MS);
  return { stop: () => clearInterval(timer) };
}

async function run(ctx: Ctx, base: CompleteParams): Promise<RunOutcome> {
  const streamId = randomUUID();
  const params = { ...base, streamId };
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Backstop', cancellable: true },
    async (progress, token) => {
      progress.report({ message: 'asking the chain…' });
      let chars = 0;
      const countdown = await queuedCountdown(ctx, base, (message) => progress.report({ message }));
      const sub = ctx.onStream((d) => {
        if (d.streamId !== streamId) return;
        countdown.stop();
        chars = d.reset ? d.delta.length : chars + d.delta.length;
        progress.report({
          message: `${d.model}${d.reset ? ' (restarted after a failure)' : ''}: ${chars} characters…`,
        });
      });
      const startedAt = Date.now();
      const strategy = ctx.status?.strategy;
      try {
        const r = await ctx.busy(ctx.call(methods.complete, params, token)).finally(() => countdown.stop());
        const trace = traceOf(streamId, startedAt, r, strategy, Date.now());
        if (r.ok) {
          ctx.keepTrace(trace);
          return { kind: 'ok', result: r.value, trace } as const;
        }
        if (r.failure.kind === 'exhausted') {
          ctx.keepTrace(trace);
          ctx.log.warn(`complete: ${exhaustedText(trace.attempts, r.failure.retryAfterMs)}`);
          return {
            kind: 'exhausted',
            trace,
            ...(r.failure.retryAfterMs !== undefined ? { retryAfterMs: r.failure.retryAfterMs } : {}),
            ...(r.failure.plan ? { plan: r.failure.plan } : {}),
          } as const;
        }
        if (r.failure.kind !== 'cancelled')
          void vscode.window
            .showErrorMessage(`Backstop: the completion failed. ${describeFailure(r.failure)}`, 'Show Logs')
            .then((p) => {
              if (p) ctx.log.show();
            });
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
  const reasons = reasonsPerModel(result.attempts.filter((a) => a.model !== result.modelUsed));
  return reasons.length ? reasons.join('; ') : undefined;
}

function announce(ctx: Ctx, result: CompleteResult, trace: RequestTrace): void {
  const why = fallbackReason(result);
  const took = humanDuration(result.totalLatencyMs);
  // One line per event: the attempts themselves are in the trace view ("Show Attempts").
  ctx.log.info(`complete: ${result.modelUsed} answered in ${took}${why ? ` after a fallback: ${why}` : ''}`);
  if (why) {
    void vscode.window
      .showInformationMessage(`Backstop: answered by ${result.modelUsed} (fallback: ${why}).`, SHOW_ATTEMPTS)
      .then((p) => {
        if (p === SHOW_ATTEMPTS) void ctx.showAttempts(trace);
      });
  } else {
    vscode.window.setStatusBarMessage(`$(check) Backstop: ${result.modelUsed} answered in ${took}`, 5_000);
  }
}
