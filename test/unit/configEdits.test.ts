// The precedence of run-time edits over the config file and the VS Code settings
// (docs/configuration.md), on DaemonState with a real state dir: an edit is re-applied at the next
// start while the file (and the setting) still hold, for that setting, what they held when the edit
// was made; once either changed that setting, it wins. Other settings keep their edits.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Config, type ConfigInput, validateConfig } from '../../protocol/config';
import { systemClock, type Store } from '../../server/core/types';
import { DaemonLogger } from '../../server/app/logger';
import { DaemonState } from '../../server/state/daemonState';
import { CONFIG_EDITS_FILE, canonical, leafPaths } from '../../server/state/configEdits';

let stateDir: string;
let logs: string[];

beforeEach(() => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-edits-'));
  logs = [];
});
afterEach(() => fs.rmSync(stateDir, { recursive: true, force: true }));

function config(over: ConfigInput = {}): Config {
  const r = validateConfig({
    providers: [{ id: 'c', type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', models: ['a', 'b', 'x'] }],
    chain: ['c/a'],
    ...over,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

/** A daemon start: the config file's content, the state dir shared between starts. */
function start(file: Config): DaemonState {
  const logger = new DaemonLogger('info', false);
  logger.onLog((m) => logs.push(`${m.level}: ${m.message}`));
  return new DaemonState({
    config: file,
    stateDir,
    store: {} as Store,
    logger,
    clock: systemClock,
    version: 'test',
  });
}

test('setChain, setPrimary and setConfig survive a restart with the same config file', () => {
  const file = config();
  const s = start(file);
  s.setChain(['c/b', 'c/a'], 'fastest');
  s.setPrimary('c/x');
  s.setConfig({ timeoutMs: 20_000, circuit: { cooldownMs: 1234 } });
  assert.ok(fs.existsSync(path.join(stateDir, CONFIG_EDITS_FILE)));

  const again = start(file);
  assert.deepEqual(again.config.chain, ['c/x', 'c/b', 'c/a']);
  assert.equal(again.config.strategy, 'fastest');
  assert.equal(again.config.timeoutMs, 20_000);
  assert.equal(again.config.circuit.cooldownMs, 1234);
  // Untouched settings of the same object keep the file's values.
  assert.equal(again.config.circuit.failureThreshold, file.circuit.failureThreshold);
});

test('the config file changing a setting wins over the edit of that setting only', () => {
  const s = start(config());
  s.setChain(['c/b']);
  s.setConfig({ timeoutMs: 20_000 });

  const edited = start(config({ timeoutMs: 25_000 }));
  assert.equal(edited.config.timeoutMs, 25_000, 'the file changed timeoutMs: the file wins');
  assert.deepEqual(edited.config.chain, ['c/b'], 'the file did not change chain: the edit stays');
  assert.ok(logs.some((l) => /run-time edit of timeoutMs .* not applied: the config file has changed/.test(l)));

  const chainEdited = start(config({ chain: ['c/x'], timeoutMs: 25_000 }));
  assert.deepEqual(chainEdited.config.chain, ['c/x']);
  // The rule is evaluated at every start: back to the value the edit was made against, the edit applies.
  assert.deepEqual(start(config()).config.chain, ['c/b']);
  assert.equal(start(config()).config.timeoutMs, 20_000);
});

test('a new edit of the same setting replaces the stored one and is measured against the file of its time', () => {
  const s = start(config());
  s.setConfig({ timeoutMs: 20_000 });
  const t = start(config({ timeoutMs: 25_000 }));
  assert.equal(t.config.timeoutMs, 25_000);
  t.setConfig({ timeoutMs: 40_000 });
  assert.equal(start(config({ timeoutMs: 25_000 })).config.timeoutMs, 40_000);
  assert.equal(start(config()).config.timeoutMs, 30_000, 'the file differs from 25,000 again: the file wins');
});

test('VS Code settings: edits win until the setting itself changes', () => {
  const file = config({ chain: [] });
  const settings1: ConfigInput = { chain: ['c/a'], timeoutMs: 15_000 };
  const s = start(file);
  s.applySettings(settings1);
  assert.deepEqual(s.config.chain, ['c/a']);
  s.setChain(['c/b', 'c/a']);

  // Next start, the same settings: the edit wins over them.
  const same = start(file);
  same.applySettings(settings1);
  assert.deepEqual(same.config.chain, ['c/b', 'c/a']);
  assert.equal(same.config.timeoutMs, 15_000);

  // The user changed the chain setting while the daemon was down: the setting wins.
  const changed = start(file);
  changed.applySettings({ chain: ['c/x'], timeoutMs: 15_000 });
  assert.deepEqual(changed.config.chain, ['c/x']);
  assert.ok(logs.some((l) => /run-time edit of chain .* not applied: the VS Code setting has changed/.test(l)));
});

test('an edit made without VS Code (the CLI) adopts the setting it first meets', () => {
  const file = config({ chain: [] });
  start(file).setChain(['c/b']);
  const vs = start(file);
  vs.applySettings({ chain: ['c/a'] });
  assert.deepEqual(vs.config.chain, ['c/b'], 'the later edit wins over an unchanged setting');
  const later = start(file);
  later.applySettings({ chain: ['c/x'] });
  assert.deepEqual(later.config.chain, ['c/x'], 'the setting changed since: it wins');
});

test('a stored edit the schema refuses is skipped with a warning; the others apply', () => {
  start(config()).setConfig({ maxRetries: 5, timeoutMs: 20_000 });
  const file = path.join(stateDir, CONFIG_EDITS_FILE);
  const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as { edits: { path: string[]; value: unknown }[] };
  stored.edits.find((e) => e.path[0] === 'timeoutMs')!.value = 5;
  fs.writeFileSync(file, JSON.stringify(stored));
  const s = start(config());
  assert.equal(s.config.maxRetries, 5);
  assert.equal(s.config.timeoutMs, 30_000);
  assert.ok(logs.some((l) => /^warn: run-time edit of timeoutMs not applied/.test(l)));
});

test('an unreadable edits file is reported and ignored: the daemon starts from its config', () => {
  fs.writeFileSync(path.join(stateDir, CONFIG_EDITS_FILE), '{"edits": [tru');
  const s = start(config());
  assert.deepEqual(s.config.chain, ['c/a']);
  assert.ok(logs.some((l) => /^warn: .*config-edits\.json is unreadable/.test(l)));
});

test('a refused edit is not stored', () => {
  const s = start(config());
  assert.throws(() => s.setConfig({ timeoutMs: 1 }));
  assert.throws(() => s.setChain(['nope/a']));
  assert.equal(fs.existsSync(path.join(stateDir, CONFIG_EDITS_FILE)), false);
});

test('leaf paths and canonical values', () => {
  assert.deepEqual(leafPaths({ chain: ['a'], circuit: { cooldownMs: 1, x: undefined }, inline: {} }), [
    ['chain'],
    ['circuit', 'cooldownMs'],
  ]);
  assert.deepEqual(leafPaths({ chains: { 'a.b': ['x/y'] } }), [['chains', 'a.b']]);
  assert.equal(canonical({ b: 1, a: [{ d: 1, c: 2 }] }), canonical({ a: [{ c: 2, d: 1 }], b: 1 }));
  assert.notEqual(canonical(undefined), canonical(null));
});
