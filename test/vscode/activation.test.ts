// Activation time as the extension reports it (api.activationMs: loading the bundle's modules plus activate()
// itself), in a real extension host. `npm run bench` runs only this suite
// (BACKSTOP_VSCODE_GREP="activation time") and reads the figure from $BACKSTOP_BENCH_ACTIVATION.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { suite, test } from 'mocha';
import * as vscode from 'vscode';
import type { BackstopApi } from '../../client/api';

export function registerActivationTests(): void {
  suite('activation time', () => {
    test('activate() reports how long activation took', async () => {
      const ext = vscode.extensions.getExtension<BackstopApi>('backstop.backstop');
      assert.ok(ext, 'extension backstop.backstop is not installed in this host');
      const api = await ext.activate();
      assert.ok(Number.isFinite(api.activationMs) && api.activationMs > 0, `activationMs ${api.activationMs}`);
      const out = process.env.BACKSTOP_BENCH_ACTIVATION;
      if (out) fs.writeFileSync(out, JSON.stringify({ activationMs: api.activationMs, ...api.activation }));
    });
  });
}
