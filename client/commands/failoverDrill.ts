// backstop.failoverDrill: one real request with the primary forced to fail, so users can see the
// fallback work before they need it. The attempt trace goes to the log and, on request, a modal.
import * as vscode from 'vscode';
import * as methods from '../../protocol/methods';
import type { CompleteResult } from '../../protocol/types';
import type { Ctx } from '../ctx';
import { formatAttempts } from '../modelItems';
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
  ctx.log.info(`failover drill: primary ${primary} forced to fail`);
  if (!r.ok) {
    const trace =
      r.failure.kind === 'exhausted' && r.failure.data?.attempts ? formatAttempts(r.failure.data.attempts) : [];
    for (const line of trace) ctx.log.warn(`  ${line}`);
    if (r.failure.kind !== 'cancelled') {
      void vscode.window
        .showErrorMessage(`Backstop drill FAILED: no fallback answered. ${describeFailure(r.failure)}`, SHOW_TRACE)
        .then((p) => {
          if (p !== SHOW_TRACE) return;
          if (trace.length)
            void vscode.window.showErrorMessage('Backstop drill FAILED', { modal: true, detail: trace.join('\n') });
          else ctx.log.show(true);
        });
    }
    return undefined;
  }
  const trace = formatAttempts(r.value.attempts);
  for (const line of trace) ctx.log.info(`  ${line}`);
  const ok = r.value.modelUsed !== primary;
  const took = `in ${Math.round(r.value.totalLatencyMs)} ms after ${r.value.attempts.length} attempts`;
  // A toast cannot show a multi-line detail; "Show Trace" opens a modal that can.
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
    if (pick !== SHOW_TRACE) return;
    void vscode.window.showInformationMessage(`Backstop drill ${ok ? 'passed' : 'unexpected'}`, {
      modal: true,
      detail: trace.join('\n') || 'No attempts recorded.',
    });
  });
  return r.value;
};
