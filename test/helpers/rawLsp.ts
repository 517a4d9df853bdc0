// Raw clients for the daemon's stdio (LSP framing) and node IPC transports: write any bytes or
// values, collect every message the daemon sends back, wait for replies by id or by count.
import { type ChildProcess, fork } from 'node:child_process';
import crypto from 'node:crypto';
import { StreamMessageReader } from 'vscode-jsonrpc/node';
import { CLI, spawnCli, type Spawned } from './daemon';
import { lspFrame } from './fuzz';

const ID_SUFFIX = crypto.randomBytes(8).toString('hex');

export type Reply = {
  jsonrpc: '2.0';
  id: string | number | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
  method?: string;
};

/** What the daemon sent: notifications aside, replies (a batch's is an array). */
abstract class Collector {
  readonly received: (Reply | Reply[])[] = [];
  private readonly byId = new Map<string | number, Reply>();
  private waiters: (() => void)[] = [];
  private seq = 0;

  protected push(m: unknown): void {
    const r = m as Reply | Reply[];
    this.received.push(r);
    if (!Array.isArray(r) && r.method === undefined && r.id !== null && !this.byId.has(r.id)) this.byId.set(r.id, r);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Forget what was received (long fuzz runs). */
  reset(): void {
    this.received.length = 0;
    this.byId.clear();
  }

  /** Replies only (no notifications), in arrival order. */
  replies(): (Reply | Reply[])[] {
    return this.received.filter((m) => Array.isArray(m) || m.method === undefined);
  }

  async until(pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const t0 = Date.now();
    while (!pred()) {
      const left = timeoutMs - (Date.now() - t0);
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The first reply with this id. */
  find(id: string | number): Reply | undefined {
    return this.byId.get(id);
  }

  abstract sendValue(v: unknown): Promise<void>;

  /** Send a request and wait for its reply (result or error). */
  async request(method: string, params?: unknown, timeoutMs = 10_000): Promise<Reply> {
    // An id no garbage frame of a fuzz run can carry.
    const id = `req-${++this.seq}-${ID_SUFFIX}`;
    await this.sendValue({ jsonrpc: '2.0', id, method, ...(params !== undefined ? { params } : {}) });
    await this.until(() => this.find(id) !== undefined, timeoutMs, `the reply to ${method}`);
    return this.find(id)!;
  }
}

/** `serve --stdio …` with raw access to its stdin. */
export class RawStdio extends Collector {
  readonly proc: Spawned;
  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    super();
    this.proc = spawnCli(['serve', '--stdio', ...args], env);
    new StreamMessageReader(this.proc.child.stdout!).listen((m) => this.push(m));
  }

  write(bytes: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.proc.child.stdin!.write(bytes, (e) => (e ? reject(e) : resolve())));
  }

  sendValue(v: unknown): Promise<void> {
    return this.write(lspFrame(JSON.stringify(v)));
  }

  kill(): Promise<void> {
    return this.proc.kill();
  }
}

/** `serve --node-ipc …` forked as VS Code does, with raw access to the channel. */
export class RawIpc extends Collector {
  readonly child: ChildProcess;
  private err = '';
  readonly exited: Promise<number | null>;
  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    super();
    this.child = fork(CLI, ['serve', ...args, '--node-ipc'], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { BACKSTOP_CHECK_RESULTS: '1', ...process.env, ...env },
    });
    this.child.stderr?.on('data', (d: Buffer) => (this.err += d.toString()));
    this.child.on('message', (m) => this.push(m));
    this.exited = new Promise((r) => this.child.on('exit', (code) => r(code)));
  }

  stderr(): string {
    return this.err;
  }

  sendValue(v: unknown): Promise<void> {
    return new Promise((resolve, reject) => this.child.send(v as object, (e) => (e ? reject(e) : resolve())));
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}
