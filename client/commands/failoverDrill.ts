// backstop.failoverDrill: one real request with the primary forced to fail, so users can see the
// fallback work before they need it. The attempt trace goes to the log and a notification.
import * as vscode from 'vscode';
import { methods, type CompleteResult } from '../../protocol';
import type { Ctx } from '../ctx';
import { formatAttempts } from '../modelItems';
import { describeFailure } from '../rpcErrors';

const DRILL_PROMPT = 'Backstop failover drill. Reply with OK.';
const DRILL_MAX_TOKENS = 8;

export const failoverDrill = (ctx: Ctx) => async (): Promise<CompleteResult | undefined> => {
  const chain = ctx.status?.chain ?? [];
  const primary = chain[0];
  if (!primary || chain.length < 2) {
    void vscode.window.showWarningMessage('Backstop: a failover drill needs at least two models in the chain. Run "Backstop: Edit Fallback Chain" first.');
    return undefined;
  }
  const r = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Backstop: failover drill (${primary} forced to fail)`, cancellable: true },
    (_p, token) => ctx.busy(ctx.call(methods.complete, {
      prompt: DRILL_PROMPT, maxTokens: DRILL_MAX_TOKENS, priority: 'high', forceFail: { models: [primary] },
    }, token)),
  );
  ctx.log.info(`failover drill: primary ${primary} forced to fail`);
  if (!r.ok) {
    const trace = r.failure.kind === 'exhausted' && r.failure.data?.attempts ? formatAttempts(r.failure.data.attempts) : [];
    for (const line of trace) ctx.log.warn(`  ${line}`);
    if (r.failure.kind !== 'cancelled') {
      void vscode.window.showErrorMessage(`Backstop drill FAILED: no fallback answered. ${describeFailure(r.failure)}`, 'Show Trace')
        .then((p) => { if (p) ctx.log.show(true); });
    }
    return undefined;
  }
  const trace = formatAttempts(r.value.attempts);
  for (const line of trace) ctx.log.info(`  ${line}`);
  const ok = r.value.modelUsed !== primary;
  const summary = `${ok ? 'passed' : 'unexpected'}: ${primary} failed, ${r.value.modelUsed} answered in ${Math.round(r.value.totalLatencyMs)} ms after ${r.value.attempts.length} attempts.`;
  void vscode.window.showInformationMessage(`Backstop drill ${summary}`, { detail: trace.join('\n') }, 'Show Trace')
    .then((p) => { if (p) ctx.log.show(true); });
  return r.value;
};
