// backstop.runBenchmark [models]: one model or all, with progress from benchmarkProgress
// notifications; cancelling sends $/cancelRequest so the daemon stops the run.
import * as vscode from 'vscode';
import * as methods from '../../protocol/methods';
import type { BenchmarkResult } from '../../protocol/types';
import type { Ctx } from '../ctx';
import { describeFailure } from '../rpcErrors';
import { listModels, modelPicks } from './pickModel';

const ALL = '__all__';

export const runBenchmark =
  (ctx: Ctx) =>
  async (arg?: unknown): Promise<BenchmarkResult[] | undefined> => {
    let models: string[] | undefined;
    if (Array.isArray(arg) && arg.every((x) => typeof x === 'string')) models = arg.length ? arg : undefined;
    else if (typeof arg === 'string') models = [arg];
    else {
      const { models: infos, ids } = await listModels(ctx);
      const picks = [
        { id: ALL, label: '$(run-all) All ready models', description: `${ids.length} known` },
        ...modelPicks(infos, ids, ctx.status?.chain ?? []),
      ];
      const picked = await vscode.window.showQuickPick(picks, {
        title: 'Backstop: Run Benchmark',
        placeHolder: 'Which model?',
      });
      if (!picked) return undefined;
      models = picked.id === ALL ? undefined : [picked.id];
    }
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Backstop: benchmarking', cancellable: true },
      async (progress, token) => {
        let reported = 0;
        const sub = ctx.onBenchmarkProgress((p) => {
          const pct = p.total > 0 ? (100 * p.done) / p.total : 0;
          progress.report({
            message: `${p.model} (${p.done}/${p.total})${p.message ? ` ${p.message}` : ''}`,
            increment: Math.max(0, pct - reported),
          });
          reported = Math.max(reported, pct);
        });
        try {
          const r = await ctx.busy(ctx.call(methods.benchmark, models ? { models } : {}, token));
          if (!r.ok) {
            if (r.failure.kind !== 'cancelled')
              void vscode.window.showWarningMessage(`Backstop: benchmark failed. ${describeFailure(r.failure)}`);
            return undefined;
          }
          const lines = r.value.results.map((b) =>
            b.ok
              ? `${b.model}: ${b.tokensPerSecond?.toFixed(1) ?? '?'} tok/s, first token ${b.ttftMs !== undefined ? Math.round(b.ttftMs) : '?'} ms`
              : `${b.model}: failed (${b.error ?? 'unknown error'})`,
          );
          for (const l of lines) ctx.log.info(`benchmark ${l}`);
          void vscode.window
            .showInformationMessage(
              `Backstop benchmark: ${lines.join('; ') || 'no models benchmarked'}`,
              'Show Diagnostics',
            )
            .then((p) => {
              if (p) void vscode.commands.executeCommand('backstop.showDiagnostics');
            });
          return r.value.results;
        } finally {
          sub.dispose();
        }
      },
    );
  };
