// backstop.setApiKey / backstop.clearApiKey: SecretStorage per provider, handed to the daemon with
// backstop/setSecret (the fake server sees the Authorization header), and never in a log line.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { test } from 'mocha';
import * as vscode from 'vscode';
import type { LogMessage } from '../../protocol';
import { methods } from '../../protocol';
import { cfg, ok, type Env } from './env';
import { REDACTED } from '../../client/traceChannel';
import { waitFor } from './waitFor';

/** A key shape no redaction pattern knows, so only the exact-secret redaction can hide it. */
const newKey = (): string => `bkt${randomBytes(12).toString('hex')}`;

async function authSeenBy(env: Env): Promise<string | undefined> {
  await ok(env.api.request(methods.complete, { prompt: 'ping', chain: ['fake/ok'], maxTokens: 4 }));
  return env.fake.calls('ok').at(-1)?.authorization;
}

/** The "Backstop" output channel's file once it holds `marker` (the logger writes it asynchronously). */
async function channelFileWith(env: Env, marker: string): Promise<string> {
  const file = vscode.Uri.joinPath(env.api.logUri, 'Backstop.log');
  const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(env.api.logUri, '*.log'));
  const read = (): string => {
    try {
      return fs.readFileSync(file.fsPath, 'utf8');
    } catch {
      return '';
    }
  };
  try {
    return await waitFor(
      `"${marker}" in ${file.fsPath}`,
      [watcher.onDidChange, watcher.onDidCreate, env.api.onLog, env.api.onDidChangeStatus],
      () => {
        const text = read();
        return text.includes(marker) && text;
      },
    );
  } finally {
    watcher.dispose();
  }
}

export function registerSecretTests(env: Env): void {
  test('backstop.setApiKey / clearApiKey by argument: the daemon uses the key for that provider, then forgets it', async () => {
    const key = newKey();
    assert.equal(await vscode.commands.executeCommand('backstop.setApiKey', 'fake', key), true);
    assert.equal(await authSeenBy(env), `Bearer ${key}`, 'the next request after the command carries the key');
    assert.ok(env.ui.statusMessages.includes('Backstop: API key for fake saved'));
    assert.equal(await vscode.commands.executeCommand('backstop.clearApiKey', 'fake'), true);
    assert.equal(await authSeenBy(env), undefined, 'no Authorization header after clearApiKey');
  });

  test('backstop.setApiKey from the QuickPick and a password InputBox; the key never reaches a log or a setting', async () => {
    const key = newKey();
    const logged: LogMessage[] = [];
    const sub = env.api.onLog((m) => logged.push(m));
    try {
      env.ui.pick((items) => {
        assert.ok(
          items.some((i) => i.label === 'fake'),
          `providers offered: ${items.map((i) => i.label).join(', ')}`,
        );
        return items.find((i) => i.label === 'fake');
      });
      env.ui.input((options) => {
        assert.equal(options?.password, true, 'the key is typed into a password box');
        assert.equal(options?.validateInput?.('  '), 'Enter a key, or press Escape to cancel');
        return `  ${key}  `;
      });
      assert.equal(await vscode.commands.executeCommand('backstop.setApiKey'), true);
      env.ui.assertAllAnswered();
      assert.equal(await authSeenBy(env), `Bearer ${key}`, 'stored trimmed and passed to the daemon');

      // The provider answers 401 quoting the key, as OpenAI does: the daemon must redact it.
      env.fake.behave('deny', { kind: 'deny' });
      const denied = await env.api.request(methods.complete, { prompt: 'ping', chain: ['fake/deny'], maxTokens: 4 });
      assert.equal(denied.ok, false);
      assert.equal(env.fake.calls('deny').at(-1)?.authorization, `Bearer ${key}`);
      const failure = JSON.stringify(denied);
      assert.ok(failure.includes('Incorrect API key provided'), `the provider's message is kept: ${failure}`);
      assert.ok(!failure.includes(key), 'the key is not in the error the client gets');

      const channel = await channelFileWith(env, 'Incorrect API key provided');
      assert.ok(!channel.includes(key), 'the key is not in the "Backstop" output channel');
      assert.ok(logged.length > 0, 'the daemon logged something during the test');
      assert.deepEqual(
        logged.filter((m) => m.message.includes(key)),
        [],
        'no daemon log line carries the key',
      );
      assert.ok(
        !JSON.stringify(cfg()).includes(key) && !JSON.stringify(vscode.workspace.getConfiguration()).includes(key),
        'not in settings',
      );
    } finally {
      sub.dispose();
    }
  });

  test('backstop.clearApiKey from the QuickPick offers only stored keys; with none stored it says so', async () => {
    env.ui.pick((items) => {
      assert.deepEqual(
        items.map((i) => [i.label, i.description]),
        [['fake', 'key stored']],
      );
      return items[0];
    });
    assert.equal(await vscode.commands.executeCommand('backstop.clearApiKey'), true);
    env.ui.assertAllAnswered();
    assert.equal(await authSeenBy(env), undefined);
    assert.equal(await vscode.commands.executeCommand('backstop.clearApiKey'), false);
    assert.ok(
      env.ui.messages.some((m) => m.text === 'Backstop: no API keys are stored.'),
      JSON.stringify(env.ui.messages),
    );
  });

  test('with message tracing on (log level Trace, backstop.trace.server verbose) backstop/setSecret is traced without its key', async () => {
    const key = newKey();
    const level = await vscode.commands.executeCommand<string>('_extensionTests.getLogLevel');
    await cfg().update('trace.server', 'verbose', vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('_extensionTests.setLogLevel', 'trace');
    try {
      assert.equal(await vscode.commands.executeCommand('backstop.setApiKey', 'fake', key), true);
      const channel = await channelFileWith(env, `"apiKey": "${REDACTED}"`);
      assert.match(channel, /Sending request 'backstop\/setSecret/, 'the request was traced with its params');
      assert.ok(!channel.includes(key), 'the key is not in the trace');
      assert.equal(await authSeenBy(env), `Bearer ${key}`, 'the daemon still got the real key');
    } finally {
      await vscode.commands.executeCommand('_extensionTests.setLogLevel', level ?? 'info');
      await cfg().update('trace.server', undefined, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('backstop.clearApiKey', 'fake');
    }
  });
}
