// Forks the daemon (dist/cli.js serve --node-ipc) and hands the connection its IPC transport. Owning
// the process matters: when `initialize` fails (invalid settings) the Ctx kills the process, the
// connection closes, and the next start forks afresh once the settings are fixed.
import { fork, type ChildProcess } from 'node:child_process';
import type * as vscode from 'vscode';
import { IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import type { Transports } from './daemonConnection';

/** Before forking a new daemon, the previous one gets this long to exit by itself before it is killed. */
export const PREVIOUS_EXIT_TIMEOUT_MS = 5_000;

/** The daemon's stderr line prefix: "[backstop <iso time> <level>] message". */
const STDERR_LINE = /^\[backstop \S+ (trace|debug|info|warn|error)\] ?(.*)$/;

export interface DaemonProcessOptions {
  module: string;
  args: () => string[];
  log: vscode.LogOutputChannel;
  /** Whether log lines also arrive as backstop/log notifications (then stderr copies are dropped). */
  notificationsFlowing: () => boolean;
  /** Node flags for the daemon (e.g. --inspect when debugging the extension). */
  execArgv?: string[];
}

export class DaemonProcess {
  private child: ChildProcess | undefined;

  constructor(private readonly opts: DaemonProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Fork a new daemon (after the previous one exited): called on every (re)start. */
  readonly transports = async (): Promise<Transports> => {
    // Two daemons at once would share the state dir and the WebSocket port: the old one goes first.
    await this.waitForExit(PREVIOUS_EXIT_TIMEOUT_MS);
    const child = fork(this.opts.module, [...this.opts.args(), '--node-ipc'], {
      // In a desktop VS Code the extension host's execPath is Electron: run it as plain node.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      execArgv: this.opts.execArgv ?? [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => this.forward(d));
    child.stderr?.on('data', (d: Buffer) => this.forward(d));
    child.on('exit', (code, signal) => {
      if (code !== 0 && code !== null) this.opts.log.warn(`the daemon exited with code ${code}`);
      if (signal) this.opts.log.warn(`the daemon was killed by ${signal}`);
    });
    return { reader: new IPCMessageReader(child), writer: new IPCMessageWriter(child) };
  };

  /** End the process now (after a failed initialize, or if it outlives a stop). */
  kill(): void {
    if (this.pid !== undefined) this.child?.kill('SIGKILL');
  }

  /**
   * Resolves once the current process (if any) has exited; after `timeoutMs` it is killed. After a
   * stop the daemon exits on its own once it has flushed its state; this bounds how long that may take.
   */
  async waitForExit(timeoutMs: number): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    const late = await Promise.race([exited.then(() => false), timedOut]);
    clearTimeout(timer);
    if (!late) return;
    this.opts.log.warn(`the previous daemon (pid ${child.pid ?? '?'}) did not exit within ${timeoutMs} ms; killing it`);
    child.kill('SIGKILL');
    await exited;
  }

  private forward(data: Buffer): void {
    for (const line of data.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      const m = STDERR_LINE.exec(line);
      if (m && this.opts.notificationsFlowing()) continue; // the same line arrives as backstop/log
      const level = m?.[1] ?? 'error'; // unprefixed output is a crash trace or a start-up failure
      const text = `[daemon] ${m?.[2] ?? line}`;
      if (level === 'trace') this.opts.log.trace(text);
      else if (level === 'debug') this.opts.log.debug(text);
      else if (level === 'info') this.opts.log.info(text);
      else if (level === 'warn') this.opts.log.warn(text);
      else this.opts.log.error(text);
    }
  }
}
