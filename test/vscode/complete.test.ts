// backstop.complete in a real editor: at the cursor (fill-in-the-middle) and replacing a selection,
// the fallback named in the notification, cancel, and the exhausted state (explain the wait, offer
// to queue, go out again by itself when the daemon reports recovery).
import * as assert from 'node:assert/strict';
import { test } from 'mocha';
import * as vscode from 'vscode';
import type { CompleteResult } from '../../protocol';
import { editorWith, useChain, type Env } from './env';
import { FAKE_TEXT } from './fakeCloud';
import { nextEvent, waitFor } from './waitFor';

/** Longer than the daemon's maxRetryAfterMs (5 s), so the daemon fails over instead of waiting. */
const RETRY_AFTER_S = 6;
const COUNTDOWN_TEXT = /^\$\(watch\) Backstop \d+:\d\d$/;

export function registerCompleteTests(env: Env): void {
  test('backstop.complete at the cursor sends prefix and suffix (chat form on a chat model) and inserts the answer there', async () => {
    await useChain(env, ['fake/ok', 'local/tiny']);
    const before = 'function f() {\n  return ';
    const after = ';\n}\n';
    const editor = await editorWith(before + after, { start: before.length });
    const result = await vscode.commands.executeCommand<CompleteResult | undefined>('backstop.complete', {
      maxTokens: 8,
    });
    assert.equal(result?.modelUsed, 'fake/ok');
    assert.equal(editor.document.getText(), before + FAKE_TEXT + after);
    // A chat model (not marked FIM-capable) is asked in chat form for the text between the two.
    const sent = env.fake.calls('ok').at(-1);
    assert.ok(sent && sent.path.endsWith('/v1/chat/completions'), `chat-form FIM: ${sent?.path}`);
    const user = (sent.body.messages as { role: string; content: string }[]).find((m) => m.role === 'user');
    assert.ok(user?.content.includes(before) && user.content.includes(after), JSON.stringify(sent.body.messages));
    assert.equal(env.ui.progress[0]?.options.cancellable, true, 'progress with cancel');
    assert.ok(
      env.ui.statusMessages.some((t) => t.includes('fake/ok answered')),
      JSON.stringify(env.ui.statusMessages),
    );
  });

  test('backstop.complete replaces the selection, and the notification names the model that answered and why', async () => {
    env.fake.behave('deny', { kind: 'deny' });
    await useChain(env, ['fake/deny', 'fake/ok']);
    const editor = await editorWith('hello world!', { start: 6, end: 11 });
    const fallback = nextEvent('fallback from fake/deny', env.api.onFallback, (f) => f.from === 'fake/deny');
    const result = await vscode.commands.executeCommand<CompleteResult | undefined>('backstop.complete', {
      maxTokens: 8,
    });
    assert.equal(result?.modelUsed, 'fake/ok');
    assert.equal(result.fallbackOccurred, true);
    assert.equal(editor.document.getText(), `hello ${FAKE_TEXT}!`);
    const sent = env.fake.calls('ok').at(-1);
    assert.deepEqual(sent?.body.messages, [{ role: 'user', content: 'world' }], 'the selection is the prompt');
    const note = env.ui.messages.find((m) => m.level === 'info');
    assert.match(
      note?.text ?? '',
      /^Backstop: answered by fake\/ok \(fallback: fake\/deny: API key missing or rejected/,
      JSON.stringify(env.ui.messages),
    );
    assert.deepEqual(note?.buttons, ['Show Attempts']);
    assert.equal((await fallback).to, 'fake/ok');
  });

  test('backstop.complete cancelled from its progress notification leaves the editor alone', async () => {
    env.fake.behave('slow', { kind: 'hang' });
    await useChain(env, ['fake/slow']);
    const editor = await editorWith('x = ', { start: 4 });
    const run = vscode.commands.executeCommand<CompleteResult | undefined>('backstop.complete', { maxTokens: 8 });
    const progress = await env.ui.until('completion under way', () => env.ui.progress[0]);
    await waitFor('the daemon reached the model', [env.fake.onRequest], () => env.fake.calls('slow').length > 0);
    progress.cts.cancel();
    assert.equal(await run, undefined);
    assert.equal(editor.document.getText(), 'x = ');
    assert.deepEqual(env.ui.messages, [], 'a cancel is not an error');
  });

  test('backstop.complete: when the document changed while it ran, the answer goes where the user says, not into the stale range', async () => {
    await useChain(env, ['fake/slow']);
    for (const [choice, expected] of [
      ['Insert at Cursor', 'let z = SLOW_ANSWER'],
      ['Copy', 'let z = '],
    ] as const) {
      let release: () => void = () => undefined;
      env.fake.behave('slow', {
        kind: 'ok',
        text: 'SLOW_ANSWER',
        after: new Promise<void>((r) => {
          release = r;
        }),
      });
      const editor = await editorWith('z = ', { start: 4 });
      await vscode.env.clipboard.writeText('');
      const asked: string[][] = [];
      env.ui.answerMessages((m) => {
        asked.push(m.buttons);
        return m.level === 'warning' ? choice : undefined;
      });
      const calls = env.fake.calls('slow').length;
      const run = vscode.commands.executeCommand<CompleteResult | undefined>('backstop.complete', { maxTokens: 8 });
      await waitFor('the daemon reached the model', [env.fake.onRequest], () => env.fake.calls('slow').length > calls);
      // The user types before the cursor while the model is still thinking: the range taken at the
      // start (offset 4) now points into the middle of "let z".
      assert.ok(await editor.edit((b) => b.insert(new vscode.Position(0, 0), 'let ')));
      release();
      const result = await run;
      assert.equal(result?.text, 'SLOW_ANSWER');
      assert.deepEqual(asked[0], ['Insert at Cursor', 'Copy'], JSON.stringify(env.ui.messages));
      assert.equal(editor.document.getText(), expected, `after "${choice}"`);
      assert.equal(await vscode.env.clipboard.readText(), choice === 'Copy' ? 'SLOW_ANSWER' : '');
    }
  });

  test('exhausted: complete explains the wait and offers to queue; queued, it goes out by itself on recovery', async () => {
    env.fake.behave('limited', { kind: 'rate_limited', retryAfterS: RETRY_AFTER_S });
    await useChain(env, ['fake/limited']);
    const editor = await editorWith('y = ', { start: 4 });

    // 1. The chain fails with a long Retry-After: the user is told how long, and may dismiss.
    const first = await vscode.commands.executeCommand<CompleteResult | undefined>('backstop.complete', {
      maxTokens: 8,
    });
    assert.equal(first, undefined);
    const [warning] = env.ui.messages;
    assert.equal(warning?.level, 'warning');
    // Issue 17: the reason per model, once; the wait in words; no JSON-RPC code; "Show Attempts" on this first warning.
    assert.match(
      warning.text,
      /^Backstop: No model in the chain could answer: fake\/limited: rate limited.*\. The first is back in [1-6] s\./,
    );
    const reasons = warning.text.split(' Suggestion:')[0] ?? '';
    assert.equal(reasons.split('fake/limited').length, 2, `each model once: ${warning.text}`);
    assert.doesNotMatch(warning.text, /-32\d{3}|every model in the chain failed or is cooling down/);
    assert.deepEqual(warning.buttons, ['Queue and Retry', 'Show Attempts', 'Switch Model']);
    assert.equal(editor.document.getText(), 'y = ');
    const exhausted = await waitFor(
      'status exhausted',
      [env.api.onDidChangeStatus],
      () => env.api.status?.exhausted && env.api.status,
    );
    assert.ok(exhausted.exhaustedUntil, 'the daemon says until when');
    assert.match(env.api.statusBarText, COUNTDOWN_TEXT, 'the status bar counts down');

    // 2. While exhausted, the command asks first (no request goes out); "Queue and Retry" waits.
    const callsBefore = env.fake.calls('limited').length;
    let callsWhenAsked = -1;
    env.ui.answerMessages((m) => {
      callsWhenAsked = env.fake.calls('limited').length;
      return m.buttons.includes('Queue and Retry') ? 'Queue and Retry' : undefined;
    });
    const queued = vscode.commands.executeCommand<CompleteResult | undefined>('backstop.complete', { maxTokens: 8 });
    const waiting = await env.ui.until('the queued progress', () =>
      env.ui.progress.find(
        (p) => 'title' in p.options && p.options.title === 'Backstop: queued until a model recovers',
      ),
    );
    assert.equal(waiting.options.cancellable, true);
    assert.equal(callsWhenAsked, callsBefore, 'no request while the chain is known to be exhausted');
    assert.match(env.ui.messages[1]?.text ?? '', /back in [1-6] s/);

    // 3. The daemon reports recovery (a model of the chain is available again): the queued request
    //    goes out at once, well before the announced wait is over, and the editor gets the answer.
    await useChain(env, ['fake/limited', 'fake/ok']);
    const result = await queued;
    assert.ok(
      Date.now() < Date.parse(exhausted.exhaustedUntil),
      'released by the statusChanged, not by the wait running out',
    );
    assert.equal(result?.modelUsed, 'fake/ok', 'the queued request went out after recovery');
    assert.equal(editor.document.getText(), `y = ${FAKE_TEXT}`);
    await waitFor(
      'the status bar shows a score again',
      [env.api.onDidChangeStatus],
      () => !COUNTDOWN_TEXT.test(env.api.statusBarText),
    );
    assert.match(env.api.statusBarText, /^\$\((pulse|loading~spin)\) Backstop \d+$/);
  });
}
