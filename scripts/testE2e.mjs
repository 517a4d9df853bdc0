#!/usr/bin/env node
// UI e2e layer: package the .vsix, install it into code-server, open a workspace whose cloud primary
// is unreachable and whose local provider has a generated GGUF model, and drive the workbench in
// headless Chromium (test/e2e/steps.ts). Screenshots go to test-artifacts/e2e/.
// Prints ONE summary line `e2e: N passed, M failed` and exits non-zero on failure.
// usage: node scripts/testE2e.mjs   (BACKSTOP_VSIX=path skips packaging; KEEP=1 keeps the temp dirs)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tsImport } from 'tsx/esm/api';
import {
  CODE_SERVER,
  ensureHost,
  freePort,
  hostEnv,
  launchBrowser,
  makeWorkspace,
  NOISE,
  ROOT,
  startServer,
} from '../test/vscode-host/harness.mjs';

const ARTIFACTS = path.join(ROOT, 'test-artifacts/e2e');
const t0 = Date.now();
const secs = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

function summary(passed, failed, note = '') {
  console.log(`e2e: ${passed} passed, ${failed} failed${note ? ` (${note})` : ''}`);
}

function packageVsix(out) {
  if (process.env.BACKSTOP_VSIX) return process.env.BACKSTOP_VSIX;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/packageVsix.mjs'), '--out', out], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error('packaging the .vsix failed');
  return path.join(ROOT, out);
}

async function main() {
  ensureHost();
  const vsix = packageVsix('out/backstop-e2e.vsix');
  console.log(`e2e: packaged after ${secs()}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-e2e-'));
  const models = path.join(tmp, 'models');
  const { ensureFixtureModel } = await tsImport(path.join(ROOT, 'test/fixtures/genGguf.ts'), import.meta.url);
  await ensureFixtureModel('tiny', models);
  // Machine-scoped settings (providers: where API keys go) are ignored in a workspace: give them as
  // user and machine settings, as a person would.
  const machine = {
    'backstop.providers': [
      { id: 'cloud', type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', models: ['gpt-x'] },
      { id: 'local', type: 'local', modelsDirs: [models] },
    ],
  };
  const workspace = makeWorkspace(path.join(tmp, 'workspace'), {
    'backstop.chain': ['cloud/gpt-x', 'local/tiny'],
    'backstop.complete.maxTokens': 24,
  });
  const ud = path.join(tmp, 'ud');
  const ext = path.join(tmp, 'ext');
  fs.mkdirSync(path.join(ud, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(ud, 'User/settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'security.workspace.trust.enabled': false,
      'workbench.tips.enabled': false,
      'extensions.ignoreRecommendations': true,
      'update.mode': 'none',
      'telemetry.telemetryLevel': 'off',
      // Off until the chat steps (test/e2e/chatModels.ts) turn it on: the Chat view takes the focus.
      'chat.disableAIFeatures': true,
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      ...machine,
    }),
  );
  fs.mkdirSync(path.join(ud, 'Machine'), { recursive: true });
  fs.writeFileSync(path.join(ud, 'Machine/settings.json'), JSON.stringify(machine));
  const port = await freePort();
  const config = path.join(tmp, 'config.yaml');
  fs.writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const codeServer = path.join(CODE_SERVER, 'out/node/entry.js');
  const common = ['--config', config, '--extensions-dir', ext, '--user-data-dir', ud];
  const install = spawnSync('node', [codeServer, ...common, '--install-extension', vsix], {
    env: hostEnv(),
    encoding: 'utf8',
  });
  if (install.status !== 0) throw new Error(`installing the .vsix failed:\n${install.stdout}\n${install.stderr}`);
  console.log(`e2e: extension installed after ${secs()}`);

  const server = await startServer({
    command: 'node',
    args: [
      codeServer,
      ...common,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
    ],
    env: hostEnv(),
    port,
    readyPath: '/healthz',
    logFile: path.join(tmp, 'code-server.log'),
  });
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await launchBrowser();
  const { STEPS } = await tsImport(path.join(ROOT, 'test/e2e/steps.ts'), import.meta.url);
  let passed = 0;
  let failed = 0;
  try {
    const { page } = browser;
    page.on('console', (m) => {
      if (m.type() === 'error' && !NOISE.test(m.text()) && (process.env.RAW || /backstop/i.test(m.text())))
        console.log(`[page] ${m.text().slice(0, 500)}`);
    });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    // BACKSTOP_E2E_GREP=regex runs only the steps whose name matches it (the first step, which waits for
    // the extension to start, always runs).
    const grep = process.env.BACKSTOP_E2E_GREP;
    for (const step of STEPS.filter((s, i) => !grep || i === 0 || new RegExp(grep).test(s.name))) {
      const s0 = Date.now();
      try {
        await step.run({ page, artifacts: ARTIFACTS, userSettings: path.join(ud, 'User/settings.json') });
        passed++;
        console.log(`  ✔ ${step.name} (${Date.now() - s0} ms)`);
      } catch (e) {
        failed++;
        console.log(`  ✖ ${step.name}\n    ${(e instanceof Error ? e.message : String(e)).split('\n').join('\n    ')}`);
        await page.screenshot({ path: path.join(ARTIFACTS, `FAILED-${passed + failed}.png`) }).catch(() => {});
      }
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  if (failed) {
    const log = path.join(tmp, 'code-server.log');
    console.log(`code-server log: ${log}; extension host logs under ${path.join(ud, 'logs')}`);
  }
  if (process.env.KEEP !== '1' && !failed) fs.rmSync(tmp, { recursive: true, force: true });
  else console.log(`kept ${tmp}`);
  summary(passed, failed, `${secs()}; screenshots in ${path.relative(ROOT, ARTIFACTS)}`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  summary(0, 1, 'harness error');
  process.exit(1);
});
