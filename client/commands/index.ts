// Every command, by its exact id. Handlers are factories (ctx) => handler, so each is small and
// testable; their return values let the extension-host tests assert on what happened.
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import { DiagnosticsPanel } from '../webviewPanel';
import { chooseStrategy } from './chooseStrategy';
import { complete } from './complete';
import { editChain } from './editChain';
import { failoverDrill } from './failoverDrill';
import { runBenchmark } from './runBenchmark';
import { clearApiKey, refreshModels, restartDaemon, setApiKey, showAttempts, showLogs } from './small';
import { switchPrimary } from './switchPrimary';

type Factory = (ctx: Ctx) => (...args: unknown[]) => unknown;

export const COMMANDS: Record<string, Factory> = {
  'backstop.complete': complete,
  'backstop.switchPrimary': switchPrimary,
  'backstop.editChain': editChain,
  'backstop.chooseStrategy': chooseStrategy,
  'backstop.runBenchmark': runBenchmark,
  'backstop.refreshModels': refreshModels,
  // Returns the panel so the extension-host tests can exchange messages with it.
  'backstop.showDiagnostics': (ctx) => () => DiagnosticsPanel.show(ctx),
  'backstop.setApiKey': setApiKey,
  'backstop.clearApiKey': clearApiKey,
  'backstop.restartDaemon': restartDaemon,
  'backstop.showLogs': showLogs,
  'backstop.failoverDrill': failoverDrill,
  'backstop.showAttempts': showAttempts,
};

export function registerCommands(ctx: Ctx): void {
  for (const [id, factory] of Object.entries(COMMANDS))
    ctx.pushDisposable(vscode.commands.registerCommand(id, factory(ctx)));
  ctx.pushDisposable(DiagnosticsPanel.registerSerializer(ctx));
}
