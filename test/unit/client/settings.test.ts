import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { defaultConfig } from '../../../protocol';
import {
  configFromSettings,
  configPathInMessage,
  configSubset,
  configPathOf,
  DAEMON_SETTINGS,
  settingForConfigPath,
  withModelsDirs,
} from '../../../client/settings';

const getter =
  (values: Record<string, unknown>) =>
  (key: string): unknown =>
    values[key];

test('settings map to the daemon config, inline.* nested', () => {
  const cfg = configFromSettings(
    getter({ chain: ['a/b'], timeoutMs: 9000, 'inline.chain': ['c/d'], 'inline.timeoutMs': 1500 }),
  );
  assert.deepEqual(cfg, {
    providers: [],
    chain: ['a/b'],
    timeoutMs: 9000,
    inline: { chain: ['c/d'], timeoutMs: 1500 },
  });
});

test('only changed settings are sent', () => {
  const subset = configSubset(getter({ maxRetries: 4, timeoutMs: 9000 }), (k) => k === 'maxRetries');
  assert.deepEqual(subset, { maxRetries: 4 });
  assert.equal(
    configSubset(getter({}), () => false),
    undefined,
  );
});

test('local.modelsDirs extends local providers, or creates one', () => {
  assert.deepEqual(withModelsDirs([{ id: 'l', type: 'local', modelsDirs: ['/a'] }], ['/a', '/b']), [
    { id: 'l', type: 'local', modelsDirs: ['/a', '/b'] },
  ]);
  assert.deepEqual(withModelsDirs([{ id: 'local', type: 'ollama' }], ['/m']), [
    { id: 'local', type: 'ollama' },
    { id: 'local2', type: 'local', modelsDirs: ['/m'] },
  ]);
  const subset = configSubset(getter({ providers: [], 'local.modelsDirs': ['/m'] }), (k) => k === 'local.modelsDirs');
  assert.deepEqual(subset, { providers: [{ id: 'local', type: 'local', modelsDirs: ['/m'] }] });
});

test('daemon config paths map back to the setting the user edits', () => {
  assert.equal(settingForConfigPath('timeoutMs'), 'backstop.timeoutMs');
  assert.equal(settingForConfigPath('inline.timeoutMs'), 'backstop.inline.timeoutMs');
  assert.equal(settingForConfigPath('providers.1.baseUrl'), 'backstop.providers');
  assert.equal(configPathInMessage('invalid configuration: timeoutMs: Too small'), 'timeoutMs');
  assert.equal(configPathInMessage('invalid configuration: inline.maxTokens: Too big'), 'inline.maxTokens');
});

test('package.json contributes every daemon setting with the daemon default', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    contributes: {
      configuration: { properties: Record<string, { default?: unknown; minimum?: number; maximum?: number }> };
    };
  };
  const props = pkg.contributes.configuration.properties;
  const defaults = defaultConfig() as unknown as Record<string, unknown>;
  for (const key of DAEMON_SETTINGS) {
    const prop = props[`backstop.${key}`];
    assert.ok(prop, `backstop.${key} is not contributed`);
    if (key === 'local.modelsDirs' || key === 'providers') continue;
    const expected = configPathOf(key).reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], defaults);
    assert.deepEqual(prop.default, expected, `default of backstop.${key}`);
  }
  assert.deepEqual([props['backstop.timeoutMs']?.minimum, props['backstop.timeoutMs']?.maximum], [5000, 120_000]);
  assert.deepEqual([props['backstop.maxRetries']?.minimum, props['backstop.maxRetries']?.maximum], [0, 10]);
});

test('per-purpose settings feed their purposes.* config paths', () => {
  const values: Record<string, unknown> = { 'chat.chain': ['local/a'], 'inline.budgetMs': 250, 'inline.maxTokens': 16 };
  const cfg = configSubset(
    (k) => values[k],
    (k) => k in values,
  );
  assert.deepEqual(cfg, {
    purposes: { chat: { chain: ['local/a'] }, inline: { budgetMs: 250 } },
    inline: { maxTokens: 16 },
  });
  assert.equal(settingForConfigPath('purposes.inline.budgetMs'), 'backstop.inline.budgetMs');
  assert.equal(settingForConfigPath('purposes.chat.chain.0'), 'backstop.chat.chain');
});
