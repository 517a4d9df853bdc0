// The diagnostics view's pure parts: which models are "yours" (listed first) and which are folded
// away, how history entries and counters read, and that no text shows a raw ms count or ISO time.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { configuredModels } from '../../../client/configuredModels';
import type { HistoryEvent, ModelInfo } from '../../../protocol/types';
import { historyText, splitModels, statsLine, type ViewState } from '../../../webview/sections';

const RAW_MS = /\b\d{4,}\s?ms\b/;
const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

function model(id: string, extra: Partial<ModelInfo> = {}): ModelInfo {
  const [provider = '', name = ''] = id.split('/');
  return {
    id,
    provider,
    name,
    kind: provider === 'local' ? 'local' : 'cloud',
    availability: 'ready',
    capabilities: [],
    health: { state: 'healthy' } as ModelInfo['health'],
    ...extra,
  };
}

describe('configuredModels', () => {
  it('the chain, the models a provider names, and local files in its own folders; not the well-known caches', () => {
    const mine = path.join(os.tmpdir(), 'my-models');
    const models = [
      model('local/a', { path: path.join(mine, 'a.gguf') }),
      model('local/b', { path: path.join(mine, 'sub', 'b.gguf') }),
      model('local/lmstudio-x', { path: path.join(os.homedir(), '.lmstudio', 'models', 'x.gguf') }),
      model('local/sibling', { path: `${mine}-other/s.gguf` }),
      model('cloud/gpt-x'),
      model('cloud/listed-by-the-provider'),
      model('ollama/llama3'),
    ];
    const got = configuredModels(
      {
        chain: ['ollama/llama3'],
        providers: [{ id: 'local', modelsDirs: [mine] }, { id: 'cloud', models: ['gpt-x'] }, { id: 'ollama' }],
      },
      models,
    );
    assert.deepEqual(got.sort(), ['cloud/gpt-x', 'local/a', 'local/b', 'ollama/llama3']);
  });

  it('expands ~ in modelsDirs', () => {
    const models = [model('local/a', { path: path.join(os.homedir(), 'models', 'a.gguf') })];
    assert.deepEqual(configuredModels({ chain: [], providers: [{ id: 'local', modelsDirs: ['~/models'] }] }, models), [
      'local/a',
    ]);
  });
});

describe('splitModels', () => {
  it('lists the chain first in chain order, then the other configured models; the rest is folded away', () => {
    const models = ['x/z', 'x/c', 'x/b', 'x/a', 'y/extra'].map((id) => model(id));
    const { mine, discovered } = splitModels(models, ['x/b', 'x/a'], ['x/a', 'x/b', 'x/c', 'x/z']);
    assert.deepEqual(
      mine.map((m) => m.id),
      ['x/b', 'x/a', 'x/c', 'x/z'],
    );
    assert.deepEqual(
      discovered.map((m) => m.id),
      ['y/extra'],
    );
  });

  it('without a configured list (an older extension) nothing is folded away', () => {
    const models = ['x/a', 'y/b'].map((id) => model(id));
    assert.equal(splitModels(models, [], undefined).discovered.length, 0);
  });
});

describe('what the view says', () => {
  it('the stats line counts a request that fell through as a fallback and as a failure', () => {
    const st = {
      snapshot: {
        stats: { totalRequests: 4, fallbackRequests: 4, fallbackRate: 1, modelsUsed: {}, failedRequests: 4 },
        settings: { timeoutMs: 30_000, maxRetries: 2, autoSwitch: true, monitorVram: true },
        unavailable: {},
      },
    } as unknown as ViewState;
    assert.equal(statsLine(st), '4 requests · 4 fell back (100%) · 4 failed (100%)');
  });

  it('history lines name the models and the reasons in words, never raw ms or ISO times (property)', () => {
    const kinds = ['server_error', 'rate_limited', 'timeout', 'context_overflow'] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.array(fc.constantFrom(...kinds), { minLength: 1, maxLength: 4 }),
        (failure, t, reasons) => {
          const at = new Date(t).toISOString();
          const fb: HistoryEvent = {
            id: '1',
            at,
            kind: 'fallback',
            requestId: 'r',
            from: 'p/a',
            to: 'p/b',
            failure,
            message: 'HTTP 503',
          };
          const failed: HistoryEvent = {
            id: '2',
            at,
            kind: 'failed',
            requestId: 'r',
            failure,
            message: 'no model could answer',
            models: reasons.map((f, i) => ({ model: `p/m${i}`, failure: f })),
          };
          for (const text of [historyText(fb), historyText(failed)]) {
            assert.doesNotMatch(text, RAW_MS);
            assert.doesNotMatch(text, ISO);
            assert.doesNotMatch(text, /_/, `failure kinds in words: ${text}`);
          }
          assert.match(historyText(fb), /^p\/a → p\/b: /);
          for (let i = 0; i < reasons.length; i++) assert.ok(historyText(failed).includes(`p/m${i}: `));
        },
      ),
    );
  });
});
