// Shared set-up of the command suites: the activated extension, a scripted cloud provider "fake"
// (added to backstop.providers next to the workspace's own), and a fresh Ui script per test.
import * as assert from 'node:assert/strict';
import { setup, suiteSetup, suiteTeardown, teardown } from 'mocha';
import * as vscode from 'vscode';
import type { BackstopApi } from '../../client/api';
import { methods, type ChainResult } from '../../protocol';
import { FakeCloud } from './fakeCloud';
import { Ui } from './ui';
import { nextEvent, waitFor } from './waitFor';

export const EXTENSION_ID = 'backstop.backstop';
export const FAKE_MODELS = ['ok', 'deny', 'limited', 'slow'] as const;
export const fakeId = (m: (typeof FAKE_MODELS)[number]): string => `fake/${m}`;

export function cfg(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('backstop');
}

export async function ok<R>(
  p: Promise<{ ok: true; value: R } | { ok: false; failure: { kind: string; message: string } }>,
): Promise<R> {
  const r = await p;
  if (!r.ok) assert.fail(`daemon request failed: ${r.failure.kind}: ${r.failure.message}`);
  return r.value;
}

export interface Env {
  api: BackstopApi;
  fake: FakeCloud;
  ui: Ui;
}

/** Registers suite-level setup/teardown and returns the env the tests read (filled in by then). */
export function commandEnv(): Env {
  const env = {} as Env;
  let providersBefore: unknown;
  let chainBefore: unknown;

  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension<BackstopApi>(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not installed in this host`);
    env.api = await ext.activate();
    await waitFor('daemon running', [env.api.onDidChangeDaemonState], () => env.api.daemonState === 'running');
    env.fake = new FakeCloud(FAKE_MODELS);
    const baseUrl = await env.fake.start();
    // Machine-scoped: kept in the user settings (see machineSettings.ts), never in the workspace.
    providersBefore = cfg().inspect('providers')?.globalValue;
    chainBefore = cfg().inspect('chain')?.workspaceValue;
    const providers = [
      ...(Array.isArray(providersBefore) ? providersBefore : []),
      { id: 'fake', type: 'openai-compatible', baseUrl, models: [...FAKE_MODELS] },
    ];
    const applied = nextEvent('the fake provider accepted', env.api.onConfigApplied, (c) =>
      JSON.stringify(c).includes(baseUrl),
    );
    await cfg().update('providers', providers, vscode.ConfigurationTarget.Global);
    await applied;
  });

  setup(() => {
    env.ui = new Ui();
  });
  teardown(() => {
    env.ui.dispose();
  });

  suiteTeardown(async () => {
    await cfg().update('providers', providersBefore, vscode.ConfigurationTarget.Global);
    await cfg().update('chain', chainBefore, vscode.ConfigurationTarget.Workspace);
    await cfg().update('strategy', undefined, vscode.ConfigurationTarget.Workspace);
    await env.fake.stop();
  });
  return env;
}

/** Set the chain in the daemon (not through a command under test) and wait until the client knows. */
export async function useChain(env: Env, chain: string[]): Promise<ChainResult> {
  const r = await ok(env.api.request(methods.setChain, { chain }));
  await waitFor(
    `status chain ${chain.join(',')}`,
    [env.api.onDidChangeStatus],
    () => JSON.stringify(env.api.status?.chain) === JSON.stringify(chain),
  );
  return r;
}

/** An untitled editor with `text`, active, with `select` (or the cursor at `select.start`). */
export async function editorWith(text: string, select: { start: number; end?: number }): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument({ language: 'javascript', content: text });
  const editor = await vscode.window.showTextDocument(doc);
  editor.selection = new vscode.Selection(doc.positionAt(select.start), doc.positionAt(select.end ?? select.start));
  return editor;
}
