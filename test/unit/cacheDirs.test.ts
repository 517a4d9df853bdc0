// Other tools' cache folders (issue 18): the environment variables that move them are honoured the
// way the tools themselves read them, an empty variable counts as unset, and "~" is the home folder.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { wellKnownDirs } from '../../server/discovery/localScan';
import { fuzzOptions } from '../helpers/fuzz';

const HOME = '/home/u';
const HF_DEFAULT = path.join(HOME, '.cache', 'huggingface', 'hub');
const LLAMA_DEFAULT = path.join(HOME, '.cache', 'llama.cpp');
const hf = (env: Record<string, string | undefined>) =>
  wellKnownDirs(HOME, { lmStudio: false, nodeLlamaCpp: false, llamaCpp: false }, env);
const llama = (env: Record<string, string | undefined>) =>
  wellKnownDirs(HOME, { lmStudio: false, nodeLlamaCpp: false, huggingFace: false }, env).filter(
    (d) => !d.includes('Library'),
  );

describe('Hugging Face cache', () => {
  it('defaults to ~/.cache/huggingface/hub', () => assert.deepEqual(hf({}), [HF_DEFAULT]));
  it('HF_HOME moves it to $HF_HOME/hub', () => assert.deepEqual(hf({ HF_HOME: '/data/hf' }), ['/data/hf/hub']));
  it('HF_HUB_CACHE names the hub folder itself and wins over HF_HOME', () =>
    assert.deepEqual(hf({ HF_HOME: '/data/hf', HF_HUB_CACHE: '/fast/hub' }), ['/fast/hub']));
  it('the older HUGGINGFACE_HUB_CACHE still works', () =>
    assert.deepEqual(hf({ HUGGINGFACE_HUB_CACHE: '/old/hub' }), ['/old/hub']));
  it('XDG_CACHE_HOME moves the default', () =>
    assert.deepEqual(hf({ XDG_CACHE_HOME: '/xdg' }), ['/xdg/huggingface/hub']));
  it('an empty variable is unset; "~" is the home folder', () => {
    assert.deepEqual(hf({ HF_HOME: '', HF_HUB_CACHE: '  ' }), [HF_DEFAULT]);
    assert.deepEqual(hf({ HF_HOME: '~/hf' }), [path.join(HOME, 'hf', 'hub')]);
  });
  it('turned off, no variable brings it back', () =>
    assert.deepEqual(
      wellKnownDirs(
        HOME,
        { huggingFace: false, lmStudio: false, nodeLlamaCpp: false, llamaCpp: false },
        { HF_HOME: '/x' },
      ),
      [],
    ));
});

describe('llama.cpp cache', () => {
  it('defaults to ~/.cache/llama.cpp; LLAMA_CACHE moves it; XDG_CACHE_HOME moves the default', () => {
    assert.deepEqual(llama({}), [LLAMA_DEFAULT]);
    assert.deepEqual(llama({ LLAMA_CACHE: '/models/llama' }), ['/models/llama']);
    assert.deepEqual(llama({ XDG_CACHE_HOME: '/xdg' }), ['/xdg/llama.cpp']);
  });
});

describe('property', () => {
  it('any environment gives absolute folders, one per tool turned on, never an empty path', () => {
    const val = fc.option(
      fc.oneof(
        fc.constantFrom('', ' ', '~', '~/x', '/abs/dir'),
        fc.string({ maxLength: 8 }).map((s) => `/${s}`),
      ),
      { nil: undefined },
    );
    fc.assert(
      fc.property(
        fc.record({
          HF_HOME: val,
          HF_HUB_CACHE: val,
          HUGGINGFACE_HUB_CACHE: val,
          LLAMA_CACHE: val,
          XDG_CACHE_HOME: val,
        }),
        (env) => {
          const dirs = hf(env);
          assert.equal(dirs.length, 1);
          for (const d of dirs) assert.ok(path.isAbsolute(d) && d.trim() !== '', JSON.stringify({ env, d }));
        },
      ),
      fuzzOptions(500),
    );
  });
});
