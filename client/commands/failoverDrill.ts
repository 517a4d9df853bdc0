// backstop.failoverDrill: one real request with the primary forced to fail, so users can see the
// fallback work before they need it. One line goes to the log; "Show Trace" opens the attempts view.
import * as vscode from 'vscode';
import * as methods from '../../protocol/methods';
import type { CompleteResult } from '../../protocol/types';
import type { Ctx } from '../ctx';
import { humanDuration } from '../../protocol/humanTime';
import { traceOf } from '../attemptsTrace';
import { describeFailure } from '../rpcErrors';

const DRILL_PROMPT = 'Backstop failover drill. Reply with OK.';
const DRILL_MAX_TOKENS = 8;
export const SHOW_TRACE = 'Show Trace';

export const failoverDrill = (ctx: Ctx) => async (): Promise<CompleteResult | undefined> => {
  const chain = ctx.status?.chain ?? [];
  const primary = chain[0];
  if (!primary || chain.length < 2) {
    void vscode.window.showWarningMessage(
      'Backstop: a failover drill needs at least two models in the chain. Run "Backstop: Edit Fallback Chain" first.',
    );
    return undefined;
  }
  const startedAt = Date.now();
  const r = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Backstop: failover drill (${primary} forced to fail)`,
      cancellable: true,
    },
    (_p, token) =>
      ctx.busy(
        ctx.call(
          methods.complete,
          {
            prompt: DRILL_PROMPT,
            maxTokens: DRILL_MAX_TOKENS,
            priority: 'high',
            forceFail: { models: [primary] },
          },
          token,
        ),
      ),
  );
  if (!r.ok && r.failure.kind === 'cancelled') return undefined;
  const trace = traceOf('failover-drill', startedAt, r, ctx.status?.strategy, Date.now());
  ctx.keepTrace(trace);
  if (!r.ok) {
    ctx.log.warn(`failover drill FAILED (${primary} forced to fail): ${describeFailure(r.failure)}`);
    void vscode.window
      .showErrorMessage(`Backstop drill FAILED: no fallback answered. ${describeFailure(r.failure)}`, SHOW_TRACE)
      .then((p) => {
        if (p === SHOW_TRACE) void ctx.showAttempts(trace);
      });
    return undefined;
  }
  const ok = r.value.modelUsed !== primary;
  if (ok) ctx.walkthrough.mark('drillPassed');
  const took = `in ${humanDuration(r.value.totalLatencyMs)} after ${r.value.attempts.length} attempts`;
  ctx.log.info(
    `failover drill ${ok ? 'passed' : 'unexpected'}: ${primary} forced to fail, ${r.value.modelUsed} answered ${took}`,
  );
  const shown = ok
    ? vscode.window.showInformationMessage(
        `Backstop drill passed: ${primary} failed, ${r.value.modelUsed} answered ${took}.`,
        SHOW_TRACE,
      )
    : vscode.window.showWarningMessage(
        `Backstop drill unexpected: ${primary} answered ${took} although it was forced to fail; the fallback was not exercised.`,
        SHOW_TRACE,
      );
  void shown.then((pick) => {
    if (pick === SHOW_TRACE) void ctx.showAttempts(trace);
  });
  return r.value;
};
