// Mocha inside the VS Code extension host (code-server's here, @vscode/test-electron's for
// contributors with a desktop VS Code). Exports run() as both harnesses expect; results also go to
// $BACKSTOP_TEST_RESULTS as JSON so the runner can print one summary line.
import * as fs from 'node:fs';
import Mocha from 'mocha';
import { registerActivationTests } from './activation.test';
import { registerCommandTests } from './commands.test';
import { registerExtensionTests } from './extension.test';
import { machineSettingsToUser } from './machineSettings';

const TEST_TIMEOUT_MS = 90_000;

export function run(): Promise<void> {
  // BACKSTOP_VSCODE_GREP (a regular expression) runs only the tests whose full title matches it.
  const grep = process.env.BACKSTOP_VSCODE_GREP;
  const mocha = new Mocha({
    ui: 'tdd',
    color: false,
    timeout: TEST_TIMEOUT_MS,
    reporter: 'spec',
    ...(grep ? { grep: new RegExp(grep) } : {}),
  });
  // Bind tdd globals (suite/test) for the registration below, as mocha.loadFiles would.
  mocha.suite.emit('pre-require', globalThis, 'backstop-vscode', mocha);
  let undo: (() => Promise<void>) | undefined;
  mocha.suite.beforeAll('machine-scoped settings to the user settings', async () => {
    undo = await machineSettingsToUser();
  });
  mocha.suite.afterAll('machine-scoped settings restored', async () => {
    await undo?.();
  });
  registerActivationTests();
  registerExtensionTests();
  registerCommandTests();
  return new Promise((resolve, reject) => {
    const failures: { title: string; error: string }[] = [];
    let passed = 0;
    const runner = mocha.run((failed) => {
      const out = process.env.BACKSTOP_TEST_RESULTS;
      if (out) fs.writeFileSync(out, JSON.stringify({ passed, failed, failures }, null, 2));
      if (failed > 0) reject(new Error(`${failed} extension-host test(s) failed`));
      else resolve();
    });
    runner.on('pass', () => {
      passed++;
    });
    runner.on('fail', (t, err: unknown) => {
      failures.push({ title: t.fullTitle(), error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    });
  });
}
