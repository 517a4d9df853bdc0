import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { ignoredMachineSettings, machineScopedKeys } from '../../../client/misplacedSettings';

const pkg: unknown = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));

test('the machine-scoped keys come from the manifest', () => {
  const keys = machineScopedKeys(pkg);
  assert.ok(keys.includes('providers'), keys.join(','));
  assert.ok(!keys.includes('chain'), 'the chain may be set per workspace');
});

test('a machine setting in the User settings that VS Code gives no user value for is misplaced', () => {
  const text = `{
    // my providers
    "backstop.providers": [{ "id": "o", "type": "ollama", "baseUrl": "http://127.0.0.1:11434", }],
    "backstop.chain": ["o/qwen"],
    "editor.fontSize": 14,
  }`;
  const none = ignoredMachineSettings(text, ['providers', 'local.modelsDirs'], () => undefined);
  assert.deepEqual(
    none.map((m) => m.key),
    ['providers'],
  );
  assert.deepEqual(none[0]?.value, [{ id: 'o', type: 'ollama', baseUrl: 'http://127.0.0.1:11434' }]);
  // A desktop window reads them from User settings: VS Code reports the value, nothing is misplaced.
  assert.deepEqual(
    ignoredMachineSettings(text, ['providers'], () => []),
    [],
  );
});

test('property: any text, however broken, gives a list and never throws', () => {
  fc.assert(
    fc.property(fc.string(), (text) => {
      const out = ignoredMachineSettings(text, ['providers'], () => undefined);
      assert.ok(Array.isArray(out));
      for (const m of out) assert.equal(m.key, 'providers');
    }),
  );
  fc.assert(
    // jsonc-parser assigns keys with `obj[key] =`: a "__proto__" key sets a prototype instead (not a setting).
    fc.property(
      fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"')),
      (value) => {
        const text = JSON.stringify({ 'backstop.providers': value });
        const out = ignoredMachineSettings(text, ['providers'], () => undefined);
        assert.equal(out.length, 1);
        assert.deepEqual(out[0]?.value, JSON.parse(JSON.stringify(value)));
      },
    ),
  );
});
