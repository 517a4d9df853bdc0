// The exhausted state: every model in the chain failed or is cooling down. Completion commands
// explain the wait and offer to queue the request; queued requests go out again by themselves as
// soon as the daemon reports recovery (statusChanged) or the announced wait is over.
import * as vscode from 'vscode';
import type { FallbackPlan } from '../protocol/types';
import type { RequestTrace } from './attemptsTrace';
import type { Ctx } from './ctx';
import { exhaustedText } from './rpcErrors';

/** When the daemon gives no retry-after, check again after this long. */
const DEFAULT_WAIT_MS = 30_000;

export interface ExhaustedInfo {
  retryAfterMs?: number;
  plan?: FallbackPlan;
  message?: string;
  /** The request that found the chain exhausted, for "Show Attempts". */
  trace?: RequestTrace;
}

export const QUEUE_AND_RETRY = 'Queue and Retry';
export const SHOW_ATTEMPTS = 'Show Attempts';

/** Explain the wait; resolves true when the user chose to queue and the chain has recovered. */
export async function offerToQueue(ctx: Ctx, info: ExhaustedInfo): Promise<boolean> {
  const wait = info.retryAfterMs ?? remainingFromStatus(ctx);
  // "Wait until a model recovers" is what Queue and Retry offers: as a suggestion it would say it twice.
  const plan = info.plan?.recommended.type === 'queue_and_wait' ? undefined : info.plan?.recommended.message;
  const text = `Backstop: ${exhaustedText(info.trace?.attempts ?? [], wait)}${plan ? ` Suggestion: ${plan}` : ''}`;
  const actions = info.trace ? [QUEUE_AND_RETRY, SHOW_ATTEMPTS, 'Switch Model'] : [QUEUE_AND_RETRY, 'Switch Model'];
  const pick = await vscode.window.showWarningMessage(text, ...actions);
  if (pick === 'Switch Model') void vscode.commands.executeCommand('backstop.switchPrimary');
  if (pick === SHOW_ATTEMPTS && info.trace) void ctx.showAttempts(info.trace);
  if (pick !== QUEUE_AND_RETRY) return false;
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: 'Backstop: queued until a model recovers',
      cancellable: true,
    },
    (_progress, token) => waitForRecovery(ctx, wait ?? DEFAULT_WAIT_MS, token),
  );
}

/** Resolves true on recovery (status no longer exhausted, or the wait elapsed), false on cancel. */
export function waitForRecovery(ctx: Ctx, maxWaitMs: number, token: vscode.CancellationToken): Promise<boolean> {
  return new Promise((resolve) => {
    const subs: vscode.Disposable[] = [];
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      for (const d of subs) d.dispose();
      resolve(ok);
    };
    const timer = setTimeout(() => done(true), maxWaitMs);
    subs.push(
      ctx.onDidChangeStatus((s) => {
        if (!s.exhausted) done(true);
      }),
    );
    subs.push(token.onCancellationRequested(() => done(false)));
  });
}

function remainingFromStatus(ctx: Ctx): number | undefined {
  const until = ctx.status?.exhaustedUntil ? Date.parse(ctx.status.exhaustedUntil) : NaN;
  return Number.isFinite(until) ? Math.max(0, until - Date.now()) : undefined;
}
