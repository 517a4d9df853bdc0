import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSecretsFile } from '../../../client/inlineFilter';

test('dotenv files are never sent for inline completions', () => {
  for (const f of ['/w/.env', '/w/.env.local', 'C:\\w\\.env.production', '/w/config/prod.env', '.env', '/w/.envrc'])
    assert.equal(isSecretsFile(f), true, f);
});

test('ordinary files (including ones that merely mention env) are completed', () => {
  for (const f of ['/w/env.ts', '/w/environment.ts', '/w/src/dotenv.js', 'Untitled-1', '/w/.envoy/config.ts'])
    assert.equal(isSecretsFile(f), false, f);
});
