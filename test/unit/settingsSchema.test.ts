// The backstop.* settings in package.json are generated from protocol/settings.ts (and through it
// from the daemon's config schema): package.json is up to date, and what it says is derived.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CLIENT_SETTINGS, DAEMON_SETTINGS, SECTION } from '../../client/settings';
import { configSchema, providerSchema } from '../../protocol/config';
import { STRATEGIES } from '../../protocol/enums';
import { modelIdProblem } from '../../protocol/modelId';
import { numberSchemaOf, SETTINGS, SETTINGS_SECTION, TRACE_SERVER_LEVELS } from '../../protocol/settings';
import {
  buildConfiguration,
  PACKAGE_JSON,
  renderPackageJson,
  settingsUpToDate,
  STALE_MESSAGE,
  type Json,
} from '../../scripts/genSettings';

const packageText = readFileSync(PACKAGE_JSON, 'utf8');
const generated = buildConfiguration();
const props = generated.properties as Record<string, Json>;
const prop = (key: string): Json => {
  const p = props[key];
  assert.ok(p, `no setting ${key}`);
  return p;
};
const providerItems = prop('backstop.providers').items as Json & { properties: Record<string, Json> };

describe('package.json settings', () => {
  it('are what npm run gen:settings writes', () => {
    const current = (JSON.parse(packageText) as { contributes: { configuration: unknown } }).contributes.configuration;
    assert.deepEqual(current, generated, STALE_MESSAGE);
    assert.ok(settingsUpToDate(packageText, generated), STALE_MESSAGE);
    assert.equal(renderPackageJson(packageText, generated), packageText, STALE_MESSAGE);
  });

  it('a changed declaration makes them out of date', () => {
    const changed = JSON.parse(JSON.stringify(generated)) as typeof generated;
    (changed.properties as Record<string, Json>)['backstop.timeoutMs']!.minimum = 1;
    assert.equal(settingsUpToDate(packageText, changed), false);
  });

  it('cover exactly the settings the client reads', () => {
    const expected = new Set([
      ...DAEMON_SETTINGS.map((k) => `${SECTION}.${k}`),
      ...Object.values(CLIENT_SETTINGS).map((k) => `${SECTION}.${k}`),
      `${SECTION}.trace.server`,
    ]);
    assert.deepEqual(new Set(Object.keys(props)), expected);
    assert.equal(SETTINGS_SECTION, SECTION);
    const daemon = Object.entries(SETTINGS)
      .filter(([, d]) => 'daemon' in d)
      .map(([k]) => k);
    assert.deepEqual(new Set(daemon), new Set(DAEMON_SETTINGS.map((k) => `${SECTION}.${k}`)));
  });

  it('take bounds, defaults and enums from the config schema', () => {
    const timeout = numberSchemaOf(configSchema.shape.timeoutMs);
    assert.equal(prop('backstop.timeoutMs').minimum, timeout.minValue);
    assert.equal(prop('backstop.timeoutMs').maximum, timeout.maxValue);
    assert.equal(prop('backstop.maxRetries').maximum, numberSchemaOf(configSchema.shape.maxRetries).maxValue);
    const defaults = configSchema.parse({});
    assert.equal(prop('backstop.timeoutMs').default, defaults.timeoutMs);
    assert.equal(prop('backstop.strategy').default, defaults.strategy);
    assert.equal(prop('backstop.inline.maxTokens').default, defaults.inline.maxTokens);
    assert.deepEqual(prop('backstop.strategy').enum, [...STRATEGIES]);
    assert.deepEqual(prop('backstop.trace.server').enum, [...TRACE_SERVER_LEVELS]);
    assert.equal((prop('backstop.strategy').enumDescriptions as string[]).length, STRATEGIES.length);
  });

  it('describe providers as one object whose type enum is every provider schema', () => {
    assert.deepEqual(providerItems.required, ['id', 'type']);
    const types = providerItems.properties.type?.enum as string[];
    assert.ok(types.includes('local') && types.includes('openai-compatible'));
    for (const type of types) {
      const ok = [
        { id: 'p', type },
        { id: 'p', type, baseUrl: 'http://127.0.0.1:1' },
      ].some((p) => providerSchema.safeParse(p).success);
      assert.ok(ok, `${type} is not a provider type of the config schema`);
    }
    assert.equal(providerSchema.safeParse({ id: 'p', type: 'nope' }).success, false);
    const baseUrlRequired = (providerItems.allOf as Json[]).some(
      (c) =>
        JSON.stringify(c) ===
        JSON.stringify({
          if: { properties: { type: { const: 'openai-compatible' } }, required: ['type'] },
          then: { required: ['baseUrl'] },
        }),
    );
    assert.ok(baseUrlRequired, 'openai-compatible requires baseUrl');
    for (const [name, p] of Object.entries(providerItems.properties)) {
      assert.ok(typeof p.description === 'string' || typeof p.markdownDescription === 'string', `${name} has no text`);
    }
  });

  it('check model ids with a pattern that agrees with modelIdProblem', () => {
    const items = prop('backstop.chain').items as Json;
    const pattern = new RegExp(items.pattern as string, 'u');
    assert.equal(typeof items.patternErrorMessage, 'string');
    for (const id of ['openai/gpt-4o-mini', 'hf/org/model.gguf', 'local/a b']) {
      assert.ok(pattern.test(id) && modelIdProblem(id) === undefined, id);
    }
    for (const id of ['nomodel', '/name', 'a b/c', 'p/']) assert.ok(!pattern.test(id) && modelIdProblem(id), id);
  });

  it('hold only what VS Code reads', () => {
    const text = JSON.stringify(generated);
    assert.doesNotMatch(text, /"\$schema"|"propertyNames"|9007199254740991/);
    for (const [key, p] of Object.entries(props)) {
      assert.equal(typeof p.order, 'number', `${key} has no order`);
      assert.ok('default' in p, `${key} has no default`);
      assert.ok(!('anyOf' in p) && !('oneOf' in p), `${key} is a union the Settings editor cannot edit`);
    }
    assert.deepEqual(prop('backstop.server.wsPort').type, ['integer', 'null']);
    assert.equal(prop('backstop.providers').scope, 'machine');
  });
});
