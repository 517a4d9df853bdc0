// Local inference through Backstop against node-llama-cpp called directly: the generated 100 M-parameter
// GGUF (test/fixtures/genGguf.ts, `bench`), the same threads, context size, prompt and greedy sampling,
// runs interleaved. Through Backstop is the gateway's streamed POST /v1/completions on model
// `local/bench` (the daemon's local worker); directly is bench/localDirect.ts in its own process.
// Generation speed = (tokens - 1) / (last token - first token): prompt processing and model loading
// (the first, unmeasured run of each arm) are left out on both sides.
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { ensureFixtureModel } from '../test/fixtures/genGguf';
import { type Daemon, median, ROOT, startDaemon } from './lib';

const PROMPT = 'The quick brown fox jumps over the lazy dog. Once upon a time';
const CONTEXT_SIZE = 2048;
const LOCAL_THREADS = 1;

export interface LocalRun {
  tokens: number;
  firstMs: number;
  lastMs: number;
}

export interface LocalResult {
  threads: number;
  maxTokens: number;
  /** Generation tokens/s of each measured run. */
  direct: number[];
  backstop: number[];
}

const tokensPerSecond = (r: LocalRun): number =>
  r.tokens > 1 && r.lastMs > r.firstMs ? ((r.tokens - 1) * 1000) / (r.lastMs - r.firstMs) : NaN;

/** `runs` measured generations per arm (after one warm-up each), interleaved. */
export async function measureLocal(runs: number, maxTokens: number): Promise<LocalResult> {
  const modelPath = await ensureFixtureModel('bench');
  // One thread per arm: llama.cpp's threads spin-wait, and on cores shared with other work (the other
  // arm, the daemon, other processes) more threads than free cores is many times slower, not faster.
  const threads = LOCAL_THREADS;
  const direct = await startDirect({ modelPath, threads, contextSize: CONTEXT_SIZE, maxTokens, prompt: PROMPT });
  let daemon: Daemon | undefined;
  try {
    daemon = await startDaemon(0, {
      config: {
        providers: [
          { id: 'local', type: 'local', modelsDirs: [path.dirname(modelPath)], threads, contextSize: CONTEXT_SIZE },
        ],
        chain: ['local/bench'],
        // Model loading and a busy machine must not time the run out: speed is what is measured here.
        timeoutMs: 120_000,
        requestTimeoutMs: 600_000,
        firstTokenTimeoutMs: 120_000,
        idleTimeoutMs: 120_000,
      },
    });
    const d = daemon;
    const through = (): Promise<LocalRun> => streamCompletion(d, maxTokens);
    await direct.run();
    await through();
    const out: LocalResult = { threads, maxTokens, direct: [], backstop: [] };
    for (let i = 0; i < runs; i++) {
      const pair: [string, () => Promise<LocalRun>][] = [
        ['direct', direct.run],
        ['backstop', through],
      ];
      for (const [name, run] of i % 2 === 0 ? pair : pair.reverse()) {
        const r = await run();
        (name === 'direct' ? out.direct : out.backstop).push(tokensPerSecond(r));
      }
    }
    return out;
  } finally {
    await daemon?.stop();
    await direct.stop();
  }
}

/**
 * Through Backstop as % of direct: the median of the ratios of each interleaved pair, so a machine whose
 * speed drifts during the runs (other work on shared cores) compares runs made side by side.
 */
export const localRatio = (r: LocalResult): number =>
  100 * median(r.backstop.map((b, i) => b / (r.direct[i] ?? NaN)).filter((x) => Number.isFinite(x)));

function startDirect(opts: Record<string, unknown>): Promise<{ run(): Promise<LocalRun>; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'localDirect.ts'), JSON.stringify(opts)],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const l = await lines.next();
    if (l.done) throw new Error(`bench/localDirect.ts exited: ${err}`);
    return JSON.parse(l.value) as Record<string, unknown>;
  };
  return next().then(() => ({
    run: async () => {
      child.stdin?.write('run\n');
      return (await next()) as unknown as LocalRun;
    },
    stop: async () => {
      child.stdin?.end();
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    },
  }));
}

/** One streamed completion through the gateway: completion tokens (usage) and first/last content times. */
function streamCompletion(d: Daemon, maxTokens: number): Promise<LocalRun> {
  const body = JSON.stringify({
    model: 'local/bench',
    prompt: PROMPT,
    max_tokens: maxTokens,
    temperature: 0,
    stream: true,
  });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first: number | undefined;
    let last = t0;
    let tokens = 0;
    let buf = '';
    const req = http.request(
      {
        host: '127.0.0.1',
        port: d.port,
        path: '/v1/completions',
        method: 'POST',
        headers: {
          authorization: `Bearer ${d.token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          const events = buf.split('\n\n');
          buf = events.pop() ?? '';
          for (const e of events) {
            const data = e.replace(/^data: /, '');
            if (data === '[DONE]') continue;
            const j = JSON.parse(data) as {
              choices?: { text?: string }[];
              usage?: { completion_tokens?: number };
              error?: { message: string };
            };
            if (j.error) return reject(new Error(`local/bench through Backstop: ${j.error.message}`));
            if (j.choices?.[0]?.text) {
              const now = performance.now();
              first ??= now;
              last = now;
            }
            if (j.usage?.completion_tokens !== undefined) tokens = j.usage.completion_tokens;
          }
        });
        res.on('end', () => {
          if (res.statusCode !== 200)
            reject(new Error(`local/bench through Backstop: HTTP ${res.statusCode ?? '?'} ${buf}`));
          else resolve({ tokens, firstMs: (first ?? t0) - t0, lastMs: last - t0 });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

if (require.main === module) {
  const n = Number(process.argv[2]) || 3;
  measureLocal(n, 128)
    .then((r) => console.log(JSON.stringify({ ...r, ratioPercent: localRatio(r) })))
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
