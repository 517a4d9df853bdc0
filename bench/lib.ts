// Benchmark plumbing: a keep-alive HTTP client that times whole answers and first tokens, closed-loop
// load at a fixed concurrency, quantiles, processes (the daemon as CI runs it, the upstream) and
// /proc readings (RSS, CPU time).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export const ROOT = path.resolve(__dirname, '..');
/** The daemon under test; BENCH_CLI points at another build (e.g. an older commit's) for a before/after run. */
export const CLI = process.env.BENCH_CLI ? path.resolve(process.env.BENCH_CLI) : path.join(ROOT, 'dist', 'cli.js');

/** Where requests go: the upstream directly, or the daemon's gateway. */
export interface Target {
  name: string;
  port: number;
  path: string;
  model: string;
  headers: Record<string, string>;
}

export interface Sample {
  ms: number;
  /** Streams: time to the first content token. */
  firstTokenMs?: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

/** One chat completion (the fixed 60-token answer), checked complete. */
export function request(t: Target, stream: boolean): Promise<Sample> {
  const body = JSON.stringify({ model: t.model, messages: [{ role: 'user', content: 'x' }], stream });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first: number | undefined;
    const req = http.request(
      {
        host: '127.0.0.1',
        port: t.port,
        path: t.path,
        method: 'POST',
        agent,
        headers: { ...t.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
          if (stream && first === undefined && text.includes('tok01')) first = performance.now() - t0;
        });
        res.on('end', () => {
          const ms = performance.now() - t0;
          if (res.statusCode !== 200 || !text.includes('tok60'))
            reject(new Error(`${t.name}: HTTP ${res.statusCode ?? '?'} ${text.slice(0, 300)}`));
          else resolve(first === undefined ? { ms } : { ms, firstTokenMs: first });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `count` requests by `concurrency` closed-loop workers. */
export async function load(
  t: Target,
  stream: boolean,
  concurrency: number,
  count: number,
): Promise<{ samples: Sample[]; elapsedMs: number; rps: number }> {
  const samples: Sample[] = [];
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      samples.push(await request(t, stream));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const elapsedMs = performance.now() - t0;
  return { samples, elapsedMs, rps: (count * 1000) / elapsedMs };
}

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i]!;
}

/** Quantiles 0 %, 1 %, … 100 % (for the plots). */
export function percentiles(xs: readonly number[]): number[] {
  const s = [...xs].sort((a, b) => a - b);
  return Array.from({ length: 101 }, (_, p) =>
    round(s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN, 3),
  );
}

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Resident set size of a process, MiB. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const CLK_TCK = 100;
/** User + system CPU time of a process so far, seconds (/proc/<pid>/stat utime + stime). */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Proc {
  child: ChildProcess;
  pid: number;
  stderr(): string;
  stop(): Promise<void>;
}

function track(child: ChildProcess): Proc {
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8000);
  });
  const exited = new Promise<void>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r();
    else child.once('exit', () => r());
  });
  return {
    child,
    pid: child.pid ?? -1,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A bench/*.ts script in its own process, once it printed its first line (one JSON object). */
async function startScript<T>(what: string, script: string, args: string[] = []): Promise<Proc & { first: T }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, script), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p = track(child);
  const first = await new Promise<T>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line) as T);
    });
    child.once('exit', (code) => reject(new Error(`${what} exited ${code ?? '?'}: ${p.stderr()}`)));
  });
  return { ...p, first };
}

/** The fault server in its own process (bench/upstream.ts). */
export async function startUpstream(): Promise<Proc & { port: number }> {
  const p = await startScript<{ url: string }>('upstream', 'upstream.ts');
  return { ...p, port: Number(new URL(p.first.url).port) };
}

/** The bare node:http proxy (bench/bareProxy.ts) in its own process, in front of the upstream. */
export async function startBareProxy(upstreamPort: number): Promise<Proc & { port: number }> {
  const p = await startScript<{ port: number }>('bare proxy', 'bareProxy.ts', [String(upstreamPort)]);
  return { ...p, port: p.first.port };
}

export function bareTarget(port: number): Target {
  return { name: 'bare', port, path: '/v1/chat/completions', model: 'backstop', headers: {} };
}

export function benchConfig(upstreamPort: number): Record<string, unknown> {
  return {
    providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: `http://127.0.0.1:${upstreamPort}/v1` }],
    chain: ['fault/ok'],
  };
}

export interface Daemon extends Proc {
  port: number;
  token: string;
  /** ms from spawn to daemon.json. */
  readyMs: number;
  stateDir: string;
}

/** `node dist/cli.js serve --http 0 --state-dir <tmp> --config <file>`, as CI runs it. */
export async function startDaemon(
  upstreamPort: number,
  opts: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv; config?: Record<string, unknown>; cli?: string } = {},
): Promise<Daemon> {
  const cli = opts.cli ?? CLI;
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: run \`node esbuild.mjs\` first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-bench-'));
  const cfg = path.join(dir, 'config.json');
  fs.writeFileSync(cfg, JSON.stringify(opts.config ?? benchConfig(upstreamPort)));
  const stateDir = path.join(dir, 'state');
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [...(opts.nodeArgs ?? []), cli, 'serve', '--http', '0', '--state-dir', stateDir, '--config', cfg],
    { cwd: dir, stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, ...opts.env } },
  );
  const tracked = track(child);
  const p: Proc = {
    ...tracked,
    stop: async () => {
      await tracked.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  const file = path.join(stateDir, 'daemon.json');
  for (;;) {
    if (fs.existsSync(file)) {
      try {
        const info = JSON.parse(fs.readFileSync(file, 'utf8')) as { httpPort?: number; token: string; pid: number };
        if (info.httpPort !== undefined)
          return {
            ...p,
            pid: info.pid,
            port: info.httpPort,
            token: info.token,
            readyMs: performance.now() - t0,
            stateDir,
          };
      } catch {
        // being written
      }
    }
    if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}: ${p.stderr()}`);
    if (performance.now() - t0 > 30_000) throw new Error(`no daemon.json after 30 s: ${p.stderr()}`);
    await sleep(2);
  }
}

export function directTarget(upstreamPort: number, name = 'direct'): Target {
  return { name, port: upstreamPort, path: '/v1/chat/completions', model: 'ok', headers: {} };
}

export function gatewayTarget(d: Daemon, name = 'gateway'): Target {
  return {
    name,
    port: d.port,
    path: '/v1/chat/completions',
    model: 'backstop',
    headers: { authorization: `Bearer ${d.token}` },
  };
}

/** Wall time of `node -e 0`, ms. */
export function nodeBaseline(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    c.once('error', reject);
    c.once('exit', () => resolve(performance.now() - t0));
  });
}
