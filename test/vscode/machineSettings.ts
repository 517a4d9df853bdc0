// backstop.providers, backstop.local.modelsDirs and backstop.server.wsPort are machine-scoped (a
// workspace must not point stored API keys at another baseUrl), so VS Code ignores them in the test
// workspace's .vscode/settings.json. The harness still writes them there; before any test runs they
// are copied to the user settings, which is where a person keeps them too.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { BackstopApi } from '../../client/api';
import { EXTENSION_ID } from './env';
import { nextEvent, waitFor } from './waitFor';

const MACHINE_SETTINGS = ['providers', 'local.modelsDirs', 'server.wsPort'] as const;

function workspaceSettingsFile(): Record<string, unknown> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the tests run in a workspace folder');
  const file = path.join(folder.uri.fsPath, '.vscode', 'settings.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** Copy the workspace file's machine-scoped backstop.* values to the user settings; returns the undo. */
export async function machineSettingsToUser(): Promise<() => Promise<void>> {
  const ext = vscode.extensions.getExtension<BackstopApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed in this host`);
  const api = await ext.activate();
  await waitFor('daemon running', [api.onDidChangeDaemonState], () => api.daemonState === 'running');
  const file = workspaceSettingsFile();
  const cfg = vscode.workspace.getConfiguration('backstop');
  const moved = MACHINE_SETTINGS.filter((k) => file[`backstop.${k}`] !== undefined);
  for (const key of moved) {
    assert.equal(
      cfg.inspect(key)?.workspaceValue,
      undefined,
      `backstop.${key} is machine-scoped: VS Code ignores it in a workspace`,
    );
    const value = file[`backstop.${key}`];
    const applied =
      key === 'server.wsPort'
        ? Promise.resolve()
        : nextEvent(`backstop.${key} from the user settings applied`, api.onConfigApplied);
    await cfg.update(key, value, vscode.ConfigurationTarget.Global);
    await applied;
    assert.deepEqual(vscode.workspace.getConfiguration('backstop').get(key), value);
  }
  return async () => {
    for (const key of moved)
      await vscode.workspace.getConfiguration('backstop').update(key, undefined, vscode.ConfigurationTarget.Global);
  };
}
