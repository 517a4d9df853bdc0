// The daemon's side of native GGUF reading. Every read goes through here: the header is checked in
// plain JavaScript first (discovery/ggufHeader.ts), then node-llama-cpp reads the file in a child
// process (ggufWorker.ts), one job at a time, under a timeout. A file that crashes or hangs that
// process is marked incompatible with the reason and not handed to the reader again until its size
// or modification time changes; the daemon itself never runs node-llama-cpp's GGUF code.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import { validateGgufFile, type GgufHeaderProblem, type GgufHeaderVerdict } from '../discovery/ggufHeader';
import { incompatibleGguf, type GgufDescription } from '../discovery/ggufMeta';
import type { FromGgufWorker, GgufEstimate, GgufInsightsSummary, GgufJob, GgufJobResults } from './ggufWorkerProtocol';

/** A hung network mount or a reader stuck in a loop must not hold discovery forever. */
export const GGUF_READ_TIMEOUT_MS = 15_000;
/** Estimates may first build GgufInsights from the header: a little longer. */
export const GGUF_ESTIMATE_TIMEOUT_MS = 30_000;
/** Starting the process, importing node-llama-cpp and (for estimates) loading the backend. */
export const GGUF_START_TIMEOUT_MS = 60_000;
/** An idle reader process is stopped (it holds node-llama-cpp and its backend in memory). */
export const GGUF_IDLE_MS = 30_000;
/** After the reader failed to start, calls fail at once for this long instead of respawning it. */
const START_FAILURE_BACKOFF_MS = 30_000;
const CACHE_MAX = 1024;
const STDERR_TAIL = 4096;

export type GgufUnusableKind = GgufHeaderProblem | 'crashed' | 'hung';

/** The file cannot be read (bad header, or it crashed or hung the reader): `reason` is for the user. */
export class GgufUnusableError extends Error {
  constructor(
    readonly file: string,
    readonly kind: GgufUnusableKind,
    readonly reason: string,
  ) {
    super(kind === 'bad_magic' ? `invalid GGUF magic: ${file} is not a GGUF file` : `${file}: ${reason}`);
    this.name = 'GgufUnusableError';
  }
}

export interface GgufReaderOptions {
  /** The worker script; default dist/ggufWorker.js next to the bundle (ggufWorker.ts under tsx). */
  workerPath?: string;
  execArgv?: string[];
  readTimeoutMs?: number;
  estimateTimeoutMs?: number;
  startTimeoutMs?: number;
  idleMs?: number;
  /** Check headers in JavaScript before the native reader sees them (default true; off only in tests). */
  checkHeaders?: boolean;
  /** Told when a file crashes or hangs the reader. */
  warn?: (message: string) => void;
}

interface Job {
  id: number;
  job: GgufJob;
  /** Cache key of the file (path, size, mtime): where a crash is recorded. */
  key: string;
  file: string;
  timeoutMs: number;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  phase: 'queued' | 'starting' | 'reading' | 'done';
  child?: ChildProcess;
  timer?: NodeJS.Timeout;
}

interface Worker {
  child: ChildProcess;
  stderr: string;
}

function defaultWorker(): { workerPath: string; execArgv: string[] } {
  const fromEnv = process.env.BACKSTOP_GGUF_WORKER;
  if (fromEnv) return { workerPath: fromEnv, execArgv: [] };
  // dist/cli.js and dist/ggufWorker.js sit side by side; from source (tests under tsx) the .ts.
  const js = path.join(__dirname, 'ggufWorker.js');
  if (fs.existsSync(js)) return { workerPath: js, execArgv: [] };
  return { workerPath: path.join(__dirname, 'ggufWorker.ts'), execArgv: ['--import', 'tsx'] };
}

export class GgufReader {
  private readonly opts: Required<Omit<GgufReaderOptions, 'warn'>> & Pick<GgufReaderOptions, 'warn'>;
  private worker: Worker | undefined;
  private readonly queue: Job[] = [];
  private current: Job | undefined;
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  private startFailure: { until: number; message: string } | undefined;
  /** Files that crashed or hung the reader, by path + size + mtime, with the reason. */
  private readonly bad = new LRUCache<string, { kind: 'crashed' | 'hung'; reason: string }>({ max: CACHE_MAX });
  private readonly headers = new LRUCache<string, GgufHeaderVerdict>({ max: CACHE_MAX });

  constructor(opts: GgufReaderOptions = {}) {
    const worker = opts.workerPath ? { workerPath: opts.workerPath, execArgv: [] } : defaultWorker();
    this.opts = {
      workerPath: worker.workerPath,
      execArgv: opts.execArgv ?? worker.execArgv,
      readTimeoutMs: opts.readTimeoutMs ?? GGUF_READ_TIMEOUT_MS,
      estimateTimeoutMs: opts.estimateTimeoutMs ?? GGUF_ESTIMATE_TIMEOUT_MS,
      startTimeoutMs: opts.startTimeoutMs ?? GGUF_START_TIMEOUT_MS,
      idleMs: opts.idleMs ?? GGUF_IDLE_MS,
      checkHeaders: opts.checkHeaders ?? true,
      ...(opts.warn ? { warn: opts.warn } : {}),
    };
  }

  /**
   * The scan's description of a file. Every problem with the file is an incompatible description;
   * only a reader that cannot run at all (node-llama-cpp missing) rejects.
   */
  async describe(file: string, baseName: string): Promise<GgufDescription> {
    try {
      const st = await fs.promises.stat(file);
      return await this.run({ type: 'describe', file: { path: file, sizeBytes: st.size, baseName } }, file, st);
    } catch (e) {
      if (e instanceof GgufUnusableError) return incompatibleGguf(e.reason);
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return incompatibleGguf('the file disappeared while it was being read');
      if (code === 'EACCES' || code === 'EPERM')
        return incompatibleGguf('permission denied: Backstop cannot read this file');
      throw e;
    }
  }

  /** Layer count and trained context of a model. Rejects with GgufUnusableError for a bad file. */
  async insights(file: string): Promise<GgufInsightsSummary> {
    return this.run({ type: 'insights', path: file }, file, await fs.promises.stat(file));
  }

  /** RAM and VRAM for the model plus a context. Rejects with GgufUnusableError for a bad file. */
  async estimate(file: string, contextSize: number, gpuLayers: number): Promise<GgufEstimate> {
    return this.run({ type: 'estimate', path: file, contextSize, gpuLayers }, file, await fs.promises.stat(file));
  }

  /** Why this file is not read any more (it crashed or hung the reader), while it is unchanged. */
  async quarantined(file: string): Promise<string | undefined> {
    try {
      return this.bad.get(this.keyOf(file, await fs.promises.stat(file)))?.reason;
    } catch {
      return undefined;
    }
  }

  /** Where to say that a file crashed or hung the reader. */
  setWarn(warn: (message: string) => void): void {
    this.opts.warn = warn;
  }

  /** Pid of the reader process, while one runs (tests). */
  workerPid(): number | undefined {
    return this.worker?.child.pid;
  }

  /** Stop the reader process; queued jobs fail. */
  dispose(): void {
    clearTimeout(this.idleTimer);
    for (const j of this.queue.splice(0)) j.reject(new Error('the GGUF reader was stopped'));
    if (this.current) this.settle(this.current, undefined, new Error('the GGUF reader was stopped'));
    this.stopWorker();
  }

  private keyOf(file: string, st: fs.Stats): string {
    return `${path.resolve(file)}\0${st.size}\0${st.mtimeMs}`;
  }

  private run<T extends GgufJob>(job: T, file: string, st: fs.Stats): Promise<GgufJobResults[T['type']]> {
    const key = this.keyOf(file, st);
    const bad = this.bad.get(key);
    if (bad) return Promise.reject(new GgufUnusableError(file, bad.kind, bad.reason));
    if (this.opts.checkHeaders) {
      let verdict = this.headers.get(key);
      if (!verdict) {
        verdict = validateGgufFile(file);
        this.headers.set(key, verdict);
      }
      if (!verdict.ok) return Promise.reject(new GgufUnusableError(file, verdict.problem, verdict.reason));
    }
    if (this.startFailure && Date.now() < this.startFailure.until)
      return Promise.reject(new Error(this.startFailure.message));
    return new Promise((resolve, reject) => {
      this.queue.push({
        id: this.nextId++,
        job,
        key,
        file,
        timeoutMs: job.type === 'describe' ? this.opts.readTimeoutMs : this.opts.estimateTimeoutMs,
        resolve: resolve as (v: unknown) => void,
        reject,
        phase: 'queued',
      });
      this.pump();
    });
  }

  private pump(): void {
    if (this.current || this.queue.length === 0) return;
    clearTimeout(this.idleTimer);
    const job = this.queue.shift()!;
    this.current = job;
    let w: Worker;
    try {
      w = this.ensureWorker();
    } catch (e) {
      this.settle(job, undefined, new Error(`the GGUF reader could not start: ${(e as Error).message}`));
      return;
    }
    job.child = w.child;
    job.phase = 'starting';
    job.timer = setTimeout(() => this.onTimeout(job), this.opts.startTimeoutMs);
    w.child.send({ ...job.job, id: job.id }, (err) => {
      if (err) this.settle(job, undefined, new Error(`the GGUF reader is not reachable: ${err.message}`));
    });
  }

  private ensureWorker(): Worker {
    if (this.worker?.child.connected) {
      // Busy: the daemon's event loop waits for the answer.
      setRef(this.worker.child, true);
      return this.worker;
    }
    const child = fork(this.opts.workerPath, [], {
      execArgv: this.opts.execArgv,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const w: Worker = { child, stderr: '' };
    child.stderr?.on('data', (d: Buffer) => {
      w.stderr = (w.stderr + d.toString()).slice(-STDERR_TAIL);
    });
    child.on('message', (m: FromGgufWorker) => this.onMessage(child, m));
    child.on('error', (e) => {
      const j = this.current;
      if (j?.child === child && j.phase !== 'done') this.settle(j, undefined, new Error(`GGUF reader: ${e.message}`));
    });
    child.on('exit', (code, signal) => this.onExit(w, code, signal));
    this.worker = w;
    return w;
  }

  private onMessage(child: ChildProcess, m: FromGgufWorker): void {
    const j = this.current;
    if (!j || j.child !== child || j.id !== m.id || j.phase === 'done') return;
    if (m.type === 'reading') {
      j.phase = 'reading';
      clearTimeout(j.timer);
      j.timer = setTimeout(() => this.onTimeout(j), j.timeoutMs);
      return;
    }
    this.startFailure = undefined;
    if (m.type === 'result') this.settle(j, m.value);
    else this.settle(j, undefined, Object.assign(new Error(m.message), m.code ? { code: m.code } : {}));
  }

  private onTimeout(j: Job): void {
    if (j.phase === 'done') return;
    const seconds = formatSeconds(j.phase === 'reading' ? j.timeoutMs : this.opts.startTimeoutMs);
    const reason =
      `reading this GGUF file did not finish within ${seconds} s (a corrupt header, or a stalled disk or network ` +
      'mount); it is not read again until the file changes';
    // A hung native read does not end on SIGTERM. Stopped before settling: the next job gets a new worker.
    this.stopWorker('SIGKILL');
    if (j.phase === 'reading') {
      this.bad.set(j.key, { kind: 'hung', reason });
      this.opts.warn?.(`${j.file}: ${reason}`);
      this.settle(j, undefined, new GgufUnusableError(j.file, 'hung', reason));
    } else {
      this.settle(j, undefined, new Error(`the GGUF reader did not start within ${seconds} s`));
    }
  }

  private onExit(w: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.worker === w) this.worker = undefined;
    const j = this.current;
    if (!j || j.child !== w.child || j.phase === 'done') {
      this.pump();
      return;
    }
    const how = signal ?? `exit code ${code}`;
    const native = nativeLine(w.stderr);
    if (j.phase === 'reading') {
      const reason =
        `the GGUF reader crashed on this file (${how}${native ? `: ${native}` : ''}); the file is corrupt or of a ` +
        'kind this llama.cpp cannot read, and it is not read again until it changes';
      this.bad.set(j.key, { kind: 'crashed', reason });
      this.opts.warn?.(`${j.file}: ${reason}`);
      this.settle(j, undefined, new GgufUnusableError(j.file, 'crashed', reason));
    } else {
      const last = native ?? lastLine(w.stderr);
      const message = `the GGUF reader exited before reading (${how}${last ? `: ${last}` : ''})`;
      this.startFailure = { until: Date.now() + START_FAILURE_BACKOFF_MS, message };
      this.settle(j, undefined, new Error(message));
    }
  }

  private settle(j: Job, value: unknown, error?: unknown): void {
    if (j.phase === 'done') return;
    j.phase = 'done';
    clearTimeout(j.timer);
    if (this.current === j) this.current = undefined;
    if (error !== undefined) j.reject(error);
    else j.resolve(value);
    if (this.queue.length) this.pump();
    else this.idle();
  }

  /** Nothing to do: let the daemon exit without waiting for the reader, and stop it after a while. */
  private idle(): void {
    if (this.worker) setRef(this.worker.child, false);
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (!this.current && this.queue.length === 0) this.stopWorker();
    }, this.opts.idleMs);
    this.idleTimer.unref();
  }

  private stopWorker(signal: NodeJS.Signals = 'SIGTERM'): void {
    const w = this.worker;
    this.worker = undefined;
    if (!w) return;
    setRef(w.child, false);
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill(signal);
  }
}

function formatSeconds(ms: number): number {
  return ms >= 10_000 ? Math.round(ms / 1000) : Math.round(ms / 100) / 10;
}

/** Whether the process, its IPC channel and its stderr pipe keep the daemon's event loop alive. */
function setRef(child: ChildProcess, on: boolean): void {
  const stderr = child.stderr as unknown as { ref?(): void; unref?(): void } | null;
  if (on) {
    child.ref();
    child.channel?.ref();
    stderr?.ref?.();
  } else {
    child.unref();
    child.channel?.unref();
    stderr?.unref?.();
  }
}

/** The line of a native abort worth showing ("Assertion failed: args[3]->IsInt32()"). */
function nativeLine(stderr: string): string | undefined {
  const line = stderr
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /assertion failed|fatal error|segmentation fault|out of memory/i.test(l));
  if (!line) return undefined;
  // Node prints "node[123]: ../src/node_file.cc:2378:... Assertion failed: args[3]->IsInt32()".
  const m = /(Assertion failed:.*)$/i.exec(line);
  return (m?.[1] ?? line).slice(0, 200);
}

function lastLine(stderr: string): string | undefined {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Node\.js v\d/.test(l) && !/^at /.test(l))
    .find((l) => /error/i.test(l))
    ?.slice(0, 200);
}

let shared: GgufReader | undefined;

/** The daemon's one GGUF reader. */
export function sharedGgufReader(): GgufReader {
  shared ??= new GgufReader();
  return shared;
}

/** Stop the shared reader's process (daemon shutdown, tests). The next call starts a new one. */
export function disposeSharedGgufReader(): void {
  shared?.dispose();
  shared = undefined;
}
