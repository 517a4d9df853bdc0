#!/usr/bin/env node
// Extension-host layer: the mocha suite in test/vscode runs inside the VS Code server bundled in
// code-server (Code 1.139), driven by headless Chromium through the workbench's `payload` test hook.
// Prints ONE summary line `vscode: N passed, M failed` and exits non-zero on failure.
// usage: node scripts/testVscode.mjs [--electron]   (BACKSTOP_SKIP_BUILD=1 to reuse dist/; KEEP=1 keeps the temp dirs)
//   --electron: run the same suite in a desktop VS Code through @vscode/test-electron instead (for
//   contributors with internet: `npm i --no-save @vscode/test-electron`; it downloads VS Code).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { tsImport } from 'tsx/esm/api';
import {
  build,
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

const RUN_TIMEOUT_MS = Number(process.env.BACKSTOP_VSCODE_TIMEOUT_MS ?? 180_000);
const t0 = Date.now();

function summary(passed, failed, note = '') {
  console.log(`vscode: ${passed} passed, ${failed} failed${note ? ` (${note})` : ''}`);
}

const electron = process.argv.includes('--electron');

async function runElectron(workspace, results) {
  let testElectron;
  try {
    testElectron = await import('@vscode/test-electron');
  } catch {
    throw new Error(
      '--electron needs @vscode/test-electron: npm i --no-save @vscode/test-electron (it downloads VS Code, so it needs the internet)',
    );
  }
  try {
    await testElectron.runTests({
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(ROOT, 'out/test/index.js'),
      launchArgs: [workspace, '--disable-workspace-trust', '--disable-extensions'],
      extensionTestsEnv: { BACKSTOP_TEST_RESULTS: results },
    });
    return 0;
  } catch {
    return 1;
  }
}

async function runInCodeServer(tmp, workspace, results) {
  const port = await freePort();
  const server = await startServer({
    command: 'node',
    args: [
      path.join(CODE_SERVER, 'lib/vscode/out/server-main.js'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--without-connection-token',
      '--accept-server-license-terms',
      '--enable-smoke-test-driver',
      '--disable-telemetry',
      '--disable-workspace-trust',
      '--user-data-dir',
      path.join(tmp, 'ud'),
      '--server-data-dir',
      path.join(tmp, 'ud/server'),
      '--extensions-dir',
      path.join(tmp, 'ext'),
    ],
    env: hostEnv({ BACKSTOP_TEST_RESULTS: results }),
    port,
    readyPath: '/version',
    logFile: path.join(tmp, 'server.log'),
  });
  const browser = await launchBrowser();
  let code;
  try {
    const { page } = browser;
    const exited = new Promise((resolve) => {
      void page.exposeFunction('codeAutomationExit', (c) => resolve(c));
    });
    page.on('console', (m) => {
      const text = m.text();
      if (process.env.RAW || (!NOISE.test(text) && /backstop|mocha|passing|failing|✔|✓|\d+\)|Error/i.test(text)))
        console.log(`[host] ${text.slice(0, 2000)}`);
    });
    const host = `127.0.0.1:${port}`;
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', `vscode-remote://${host}${ROOT}`],
      ['extensionTestsPath', `vscode-remote://${host}${path.join(ROOT, 'out/test/index.js')}`],
      ['skipWelcome', 'true'],
    ]);
    await page.goto(`http://${host}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`);
    code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), RUN_TIMEOUT_MS))]);
  } finally {
    await browser.close();
    await server.stop();
  }
  return code;
}

async function main() {
  if (!electron) ensureHost();
  build();
  // The suite is bundled once for the extension host: cjs, `vscode` and mocha from the host/root.
  await esbuild.build({
    entryPoints: { index: path.join(ROOT, 'test/vscode/index.ts') },
    outdir: path.join(ROOT, 'out/test'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-vscode-'));
  const results = path.join(tmp, 'results.json');
  const workspace = makeWorkspace(path.join(tmp, 'workspace'), {
    'backstop.providers': [
      { id: 'cloud', type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', models: ['gpt-x'] },
      { id: 'local', type: 'local', modelsDirs: [path.join(tmp, 'models')] },
    ],
    'backstop.chain': ['cloud/gpt-x', 'local/tiny'],
  });
  // A generated GGUF (random weights, ~0.5 MB) so the local fallback really runs.
  const { ensureFixtureModel } = await tsImport(path.join(ROOT, 'test/fixtures/genGguf.ts'), import.meta.url);
  await ensureFixtureModel('tiny', path.join(tmp, 'models'));
  const code = electron ? await runElectron(workspace, results) : await runInCodeServer(tmp, workspace, results);
  let passed = 0;
  let failed = 0;
  if (fs.existsSync(results)) {
    const r = JSON.parse(fs.readFileSync(results, 'utf8'));
    passed = r.passed;
    failed = r.failed;
    for (const f of r.failures) console.log(`FAIL ${f.title}\n${f.error}\n`);
  }
  if (code === 'timeout')
    console.log(
      `the extension host did not finish within ${RUN_TIMEOUT_MS} ms; server log: ${path.join(tmp, 'server.log')}`,
    );
  if (process.env.KEEP !== '1' && code === 0) fs.rmSync(tmp, { recursive: true, force: true });
  else console.log(`kept ${tmp}`);
  const ok = code === 0 && failed === 0 && passed > 0;
  summary(passed, ok ? 0 : Math.max(1, failed), `${((Date.now() - t0) / 1000).toFixed(1)} s`);
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  summary(0, 1, 'harness error');
  process.exit(1);
});
