// Spawn the BUILT daemon (dist/cli.js) and talk to it over its real transports.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createMessageConnection,
  type MessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import WebSocket from 'ws';

export const ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli.js');

export function tmpDir(prefix = 'backstop-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeConfig(dir: string, config: unknown, name = 'config.json'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return file;
}

/** A local provider over an empty folder that scans nothing else: a daemon with no real models. */
export function emptyLocalProvider(dir: string): Record<string, unknown> {
  return {
    id: 'local',
    type: 'local',
    modelsDirs: [path.join(dir, 'models')],
    scan: { lmStudio: false, huggingFace: false, nodeLlamaCpp: false, llamaCpp: false },
  };
}

export interface Spawned {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `node esbuild.mjs` first');
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { BACKSTOP_CHECK_RESULTS: '1', ...process.env, ...env },
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    stderr: () => err,
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Run the built CLI to the end without blocking this process (a fault server living here must keep
 * answering): its exit code and output.
 */
export function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** `serve --stdio` with a JSON-RPC connection over its stdin/stdout (LSP framing). */
export function spawnStdio(args: string[], env: NodeJS.ProcessEnv = {}): Spawned & { conn: MessageConnection } {
  const s = spawnCli(['serve', '--stdio', ...args], env);
  const conn = createMessageConnection(
    new StreamMessageReader(s.child.stdout!),
    new StreamMessageWriter(s.child.stdin!),
  );
  conn.listen();
  return {
    ...s,
    conn,
    kill: async () => {
      conn.dispose();
      await s.kill();
    },
  };
}

export interface DaemonInfo {
  pid: number;
  version: string;
  wsPort?: number;
  httpPort?: number;
  token: string;
}

export async function waitForDaemonFile(stateDir: string, s: Spawned, timeoutMs = 20_000): Promise<DaemonInfo> {
  const file = path.join(stateDir, 'daemon.json');
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as DaemonInfo;
    if (s.child.exitCode !== null) throw new Error(`daemon exited ${s.child.exitCode}: ${s.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no daemon.json after ${timeoutMs} ms: ${s.stderr()}`);
}

/** A minimal JSON-RPC client over WebSocket. */
export class WsClient {
  private seq = 0;
  private pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  readonly notifications: { method: string; params: unknown }[] = [];
  readonly raw: unknown[] = [];
  private listeners: ((m: { method: string; params: unknown }) => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as {
        id?: number;
        result?: unknown;
        error?: unknown;
        method?: string;
        params?: unknown;
      };
      this.raw.push(m);
      if (m.method) {
        const n = { method: m.method, params: m.params };
        this.notifications.push(n);
        for (const l of this.listeners) l(n);
        return;
      }
      const p = typeof m.id === 'number' ? this.pending.get(m.id) : undefined;
      if (!p || typeof m.id !== 'number') return;
      this.pending.delete(m.id);
      if (m.error) p.reject(Object.assign(new Error((m.error as { message: string }).message), m.error));
      else p.resolve(m.result);
    });
  }

  static open(port: number, headers: Record<string, string>): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, { headers });
      ws.once('open', () => resolve(new WsClient(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode })),
      );
    });
  }

  request<R = unknown>(method: { method: string }, params?: unknown): Promise<R> {
    const id = ++this.seq;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(
        JSON.stringify({ jsonrpc: '2.0', id, method: method.method, ...(params !== undefined ? { params } : {}) }),
      );
    });
  }

  /** The next raw message (for garbage-frame tests). */
  nextRaw(): Promise<unknown> {
    const n = this.raw.length;
    return new Promise((resolve) => {
      const check = () => (this.raw.length > n ? resolve(this.raw[n]) : setTimeout(check, 5));
      check();
    });
  }

  waitFor(method: { method: string }, pred: (p: never) => boolean = () => true, timeoutMs = 10_000): Promise<unknown> {
    const hit = this.notifications.find((n) => n.method === method.method && pred(n.params as never));
    if (hit) return Promise.resolve(hit.params);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${method.method} within ${timeoutMs} ms`)), timeoutMs);
      this.listeners.push((n) => {
        if (n.method === method.method && pred(n.params as never)) {
          clearTimeout(timer);
          resolve(n.params);
        }
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}
