// backstop.runBenchmark (one, all, cancelled), backstop.refreshModels and backstop.showLogs.
import * as assert from 'node:assert/strict';
import { test } from 'mocha';
import * as vscode from 'vscode';
import type { BenchmarkResult, CompleteResult, ModelInfo } from '../../protocol';
import { methods } from '../../protocol';
import { ok, useChain, type Env } from './env';
import { newAttemptsDocument } from './firstParty.test';
import { waitFor } from './waitFor';

export function registerToolTests(env: Env): void {
  test('backstop.runBenchmark one model: cancellable notification progress fed by benchmarkProgress', async () => {
    const results = await vscode.commands.executeCommand<BenchmarkResult[] | undefined>(
      'backstop.runBenchmark',
      'fake/ok',
    );
    assert.equal(results?.length, 1);
    const r = results[0]!;
    assert.equal(r.model, 'fake/ok');
    assert.equal(r.ok, true, r.error);
    assert.ok(env.fake.calls('ok').length > 0, 'the model was really asked');
    const [progress] = env.ui.progress;
    assert.equal(progress?.options.location, vscode.ProgressLocation.Notification);
    assert.equal(progress.options.cancellable, true);
    assert.ok(
      progress.reports.some((p) => p.message?.startsWith('fake/ok (')),
      `progress: ${JSON.stringify(progress.reports)}`,
    );
    assert.ok(
      env.ui.messages.some((m) => /^Backstop benchmark: fake\/ok: [\d.]+ tok\/s/.test(m.text)),
      JSON.stringify(env.ui.messages),
    );
    const listed = await ok(env.api.request(methods.models, {}));
    assert.ok(
      listed.models.find((m) => m.id === 'fake/ok')?.benchmark?.ok,
      'the daemon keeps the result with the model',
    );
  });

  test('backstop.runBenchmark from the QuickPick: "All ready models" benchmarks every ready model', async () => {
    await useChain(env, ['local/tiny', 'cloud/gpt-x']);
    env.ui.pickLabel('All ready models');
    const results = await vscode.commands.executeCommand<BenchmarkResult[] | undefined>('backstop.runBenchmark');
    const ready = (await ok(env.api.request(methods.models, {}))).models
      .filter((m) => m.availability === 'ready')
      .map((m) => m.id)
      .sort();
    assert.ok(results && results.length >= 2, `results: ${JSON.stringify(results?.map((b) => b.model))}`);
    assert.deepEqual(results.map((b) => b.model).sort(), ready);
    assert.ok(
      results.some((b) => b.model === 'fake/ok' && b.ok),
      'the cloud model is benchmarked over HTTP',
    );
    const tiny = results.find((b) => b.model === 'local/tiny');
    assert.ok(tiny && (tiny.ok || (tiny.error ?? '').length > 0), 'the local model has a result or says why not');
    const lines = env.ui.messages.find((m) => m.text.startsWith('Backstop benchmark: '))?.text ?? '';
    for (const b of results) assert.ok(lines.includes(`${b.model}: `), `${b.model} in "${lines}"`);
    env.ui.assertAllAnswered();
  });

  test('backstop.runBenchmark cancelled from the progress notification stops the run', async () => {
    env.fake.behave('slow', { kind: 'hang' });
    const run = vscode.commands.executeCommand<BenchmarkResult[] | undefined>('backstop.runBenchmark', ['fake/slow']);
    const progress = await env.ui.until('benchmark under way', () => env.ui.progress[0]);
    await waitFor('the daemon reached the model', [env.fake.onRequest], () => env.fake.calls('slow').length > 0);
    progress.cts.cancel();
    assert.equal(await run, undefined, 'a cancelled benchmark has no results');
    assert.deepEqual(
      env.ui.messages.filter((m) => m.level !== 'info'),
      [],
      'a cancel is not reported as a failure',
    );
    const status = await waitFor(
      'nothing in flight',
      [env.api.onDidChangeStatus],
      () => env.api.status?.inFlight === 0 && env.api.status,
    );
    assert.equal(status.inFlight, 0);
  });

  test('backstop.refreshModels rescans and reports how many models are ready', async () => {
    const models = await vscode.commands.executeCommand<ModelInfo[] | undefined>('backstop.refreshModels');
    assert.ok(models, 'the daemon answered');
    const ids = models.map((m) => m.id);
    for (const id of ['local/tiny', 'fake/ok', 'cloud/gpt-x'])
      assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
    const ready = models.filter((m) => m.availability === 'ready').length;
    assert.ok(
      env.ui.statusMessages.includes(`Backstop: ${models.length} models, ${ready} ready`),
      JSON.stringify(env.ui.statusMessages),
    );
  });

  test('backstop.showLogs reveals the "Backstop" output channel with the daemon log', async () => {
    const isBackstopLog = (d: vscode.TextDocument): boolean =>
      d.uri.scheme === 'output' && /Backstop/i.test(decodeURIComponent(d.uri.toString()));
    await vscode.commands.executeCommand('workbench.action.closePanel');
    await vscode.commands.executeCommand('backstop.showLogs');
    const doc = await waitFor(
      'the Backstop output channel shown',
      [vscode.workspace.onDidOpenTextDocument, vscode.window.onDidChangeVisibleTextEditors],
      () => vscode.workspace.textDocuments.find(isBackstopLog),
    );
    // The channel's text arrives after the document opens.
    await waitFor('the channel has the daemon log', [vscode.workspace.onDidChangeTextDocument], () =>
      doc.getText().includes('[daemon]'),
    );
  });

  test('backstop.failoverDrill: the notification offers the trace, and "Show Trace" opens the attempts view', async () => {
    await useChain(env, ['fake/ok', 'local/tiny']);
    env.ui.answerMessages((m) => (m.buttons.includes('Show Trace') ? 'Show Trace' : undefined));
    const opened = newAttemptsDocument();
    const result = await vscode.commands.executeCommand<CompleteResult | undefined>('backstop.failoverDrill');
    assert.equal(result?.modelUsed, 'local/tiny');
    assert.match(env.ui.messages[0]?.text ?? '', /^Backstop drill passed: fake\/ok failed, local\/tiny answered/);
    const doc = await opened;
    const rows = doc
      .getText()
      .split('\n')
      .filter((l) => /^\| \d+ \|/.test(l));
    assert.equal(rows.length, result.attempts.length, `one row per attempt:\n${doc.getText()}`);
    assert.match(rows[0] ?? '', /`fake\/ok`/);
    assert.match(rows.at(-1) ?? '', /`local\/tiny`.*answered/);
    assert.doesNotMatch(doc.getText(), /\b\d{4,} ?ms\b|\+\d+ ?ms|\d{4}-\d\d-\d\dT/);
  });
}
