// `npm run demo`: the full fallback path, offline, no keys. Generates a small local GGUF, starts the
// daemon with a chain whose cloud primary is unreachable, and shows what Backstop does about it.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { writeGguf } from '../test/fixtures/genGguf';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const MODELS = path.join(ROOT, '.cache', 'demo-models');
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function banner(s: string): void {
  console.log(`\n${bold(`━━ ${s}`)}`);
}

/** A loopback port nobody listens on: the "cloud" that is down. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function cli(args: string[]): number {
  console.log(`$ backstop ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [CLI, ...args], { stdio: 'inherit' });
  return r.status ?? 1;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `node esbuild.mjs` (npm run demo does it)');
  fs.mkdirSync(MODELS, { recursive: true });
  const tiny = path.join(MODELS, 'tiny-demo.gguf');
  if (!fs.existsSync(tiny)) {
    banner('Generating a small local model (random weights, 64-dim, 2 layers)');
    writeGguf(tiny, { embd: 64, layers: 2, heads: 4, ff: 128, ctx: 2048, seed: 7, name: 'tiny-demo' });
  }
  console.log(`local model: ${tiny} (${(fs.statSync(tiny).size / 1024).toFixed(0)} KB)`);

  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-demo-'));
  const port = await closedPort();
  const config = {
    providers: [
      {
        id: 'cloud',
        type: 'openai-compatible',
        baseUrl: `http://127.0.0.1:${port}/v1`,
        models: ['gpt-4o-mini'],
        apiKeyEnv: 'DEMO_CLOUD_KEY',
      },
      {
        id: 'local',
        type: 'local',
        modelsDirs: [MODELS],
        scan: { lmStudio: false, huggingFace: false, nodeLlamaCpp: false, llamaCpp: false },
        contextSize: 1024,
      },
    ],
    chain: ['cloud/gpt-4o-mini', 'local/tiny-demo'],
    maxRetries: 1,
    backoff: { baseMs: 100, maxMs: 400, jitter: true },
    circuit: { failureThreshold: 2, cooldownMs: 60_000 },
  };
  const cfgFile = path.join(state, 'backstop.json');
  fs.writeFileSync(cfgFile, JSON.stringify(config, null, 2));
  banner('Starting the daemon: chain = cloud/gpt-4o-mini (unreachable) → local/tiny-demo');
  console.log(`config: ${cfgFile}`);
  const daemon = spawn(
    process.execPath,
    [CLI, 'serve', '--ws', '0', '--http', '0', '--config', cfgFile, '--state-dir', state],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  daemon.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const infoFile = path.join(state, 'daemon.json');
  for (let i = 0; i < 200 && !fs.existsSync(infoFile); i++) await new Promise((r) => setTimeout(r, 100));
  if (!fs.existsSync(infoFile)) throw new Error(`the daemon did not start:\n${log}`);
  const info = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as { wsPort: number; httpPort: number; token: string };
  console.log(`daemon up: ws ${info.wsPort}, http ${info.httpPort} (token in ${infoFile}, mode 0600)`);

  let failed = 0;
  try {
    banner('1. A completion: the cloud primary fails, Backstop retries once, then falls back to the local model');
    failed +=
      cli(['complete', 'Write a haiku about resilience.', '--max-tokens', '24', '--state-dir', state]) === 0 ? 0 : 1;

    banner('2. Again: the cloud circuit is now open, so it is skipped without a network call');
    failed += cli(['complete', 'And one about fallbacks.', '--max-tokens', '24', '--state-dir', state]) === 0 ? 0 : 1;

    banner('3. Status: health score, active model, last fallback');
    failed += cli(['status', '--state-dir', state]);

    banner('4. Any OpenAI client gets the same chain through the gateway');
    const res = await fetch(`http://127.0.0.1:${info.httpPort}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'backstop', messages: [{ role: 'user', content: 'hello' }], max_tokens: 16 }),
    });
    const body = (await res.json()) as { model?: string; usage?: unknown };
    console.log(
      `POST /v1/chat/completions → ${res.status}; model=${body.model}; x-backstop-fallback: ${res.headers.get('x-backstop-fallback')}; x-backstop-attempts: ${res.headers.get('x-backstop-attempts')}; usage=${JSON.stringify(body.usage)}`,
    );
    if (res.status !== 200) failed++;

    banner('5. Benchmark of the local model (llama-bench style: prompt and generation tokens/s)');
    failed += cli([
      'bench',
      'local/tiny-demo',
      '--repetitions',
      '3',
      '--max-tokens',
      '32',
      '--prompt-tokens',
      '64',
      '--state-dir',
      state,
    ]);
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.on('exit', r));
  }
  banner(`Done in ${((Date.now() - t0) / 1000).toFixed(1)} s${failed ? ` — ${failed} step(s) failed` : ''}`);
  console.log(
    'Next: `npm test` runs every test layer; README.md explains configuration, the CLI and the VS Code extension.',
  );
  process.exit(failed ? 1 : 0);
}

main().catch((e: unknown) => {
  console.error(`demo failed: ${(e as Error).message}`);
  process.exit(1);
});
