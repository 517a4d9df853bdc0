// The small commands: each a factory (ctx) => handler.
import * as vscode from 'vscode';
import type { ModelInfo } from '../../protocol/types';
import type { Ctx } from '../ctx';
import { describeFailure } from '../rpcErrors';

/** backstop.refreshModels: rescan folders and providers. */
export const refreshModels = (ctx: Ctx) => async (): Promise<ModelInfo[] | undefined> =>
  vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'Backstop: refreshing models' },
    async () => {
      const r = await ctx.fetchModels({ refresh: true });
      if (!r.ok) {
        void vscode.window.showWarningMessage(`Backstop: could not refresh models. ${describeFailure(r.failure)}`);
        return undefined;
      }
      const ready = r.value.filter((m) => m.availability === 'ready').length;
      vscode.window.setStatusBarMessage(`Backstop: ${r.value.length} models, ${ready} ready`, 5_000);
      return r.value;
    },
  );

/** backstop.restartDaemon */
export const restartDaemon = (ctx: Ctx) => async (): Promise<boolean> => {
  const ok = await ctx.restart();
  if (ok) vscode.window.setStatusBarMessage('Backstop: daemon restarted', 5_000);
  return ok;
};

/** backstop.showLogs */
export const showLogs = (ctx: Ctx) => (): void => ctx.log.show();

/** backstop.showAttempts: the trace of the last request this window sent (each attempt, why the next). */
export const showAttempts = (ctx: Ctx) => async (): Promise<string | undefined> => {
  const last = ctx.lastTrace;
  if (!last) {
    void vscode.window.showInformationMessage(
      'Backstop: no request has run in this window yet. Run "Backstop: Complete" or "Backstop: Run Failover Drill" first.',
    );
    return undefined;
  }
  await ctx.attempts.open(last.uri);
  return last.uri.toString();
};

/** backstop.setApiKey [providerId, apiKey]: stored in SecretStorage, passed to the daemon in memory. */
export const setApiKey =
  (ctx: Ctx) =>
  async (providerArg?: unknown, keyArg?: unknown): Promise<boolean> => {
    const providerId =
      typeof providerArg === 'string' ? providerArg : await pickProvider(ctx, 'Backstop: Set API Key', false);
    if (!providerId) return false;
    const apiKey =
      typeof keyArg === 'string'
        ? keyArg
        : await vscode.window.showInputBox({
            title: `Backstop: API key for "${providerId}"`,
            password: true,
            ignoreFocusOut: true,
            prompt: 'Stored in the OS keychain through VS Code SecretStorage; never written to settings or logs.',
            validateInput: (v) => (v.trim() ? undefined : 'Enter a key, or press Escape to cancel'),
          });
    if (!apiKey) return false;
    await ctx.apiKeys.set(providerId, apiKey.trim());
    // secrets.onDidChange pushes it too (and serves other windows); awaiting here means the next
    // request after this command already carries the key, and a refusal is shown, not only logged.
    const failure = await ctx.pushSecret(providerId);
    if (failure && failure.kind !== 'not_running') {
      void vscode.window.showWarningMessage(
        `Backstop: the key for "${providerId}" is stored, but the daemon did not take it. ${describeFailure(failure)}`,
      );
    }
    vscode.window.setStatusBarMessage(`Backstop: API key for ${providerId} saved`, 5_000);
    return true;
  };

/** backstop.clearApiKey [providerId] */
export const clearApiKey =
  (ctx: Ctx) =>
  async (providerArg?: unknown): Promise<boolean> => {
    const providerId =
      typeof providerArg === 'string' ? providerArg : await pickProvider(ctx, 'Backstop: Clear API Key', true);
    if (!providerId) return false;
    await ctx.apiKeys.clear(providerId);
    await ctx.pushSecret(providerId); // resolve once the daemon has forgotten it too
    vscode.window.setStatusBarMessage(`Backstop: API key for ${providerId} removed`, 5_000);
    return true;
  };

async function pickProvider(ctx: Ctx, title: string, onlyStored: boolean): Promise<string | undefined> {
  const stored = new Set(ctx.apiKeys.stored());
  const ids = onlyStored ? [...stored] : [...new Set([...ctx.settings.providerIds(), ...stored])];
  if (!ids.length && onlyStored) {
    void vscode.window.showInformationMessage('Backstop: no API keys are stored.');
    return undefined;
  }
  const OTHER = '$(edit) Another provider id…';
  const picked = await vscode.window.showQuickPick(
    [
      ...ids.map((id) => ({ label: id, description: stored.has(id) ? 'key stored' : '' })),
      ...(onlyStored ? [] : [{ label: OTHER, description: '' }]),
    ],
    { title },
  );
  if (!picked) return undefined;
  if (picked.label !== OTHER) return picked.label;
  return vscode.window.showInputBox({ title, prompt: 'The id of a provider in backstop.providers' });
}
