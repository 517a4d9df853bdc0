// The daemon's logger: stderr (never stdout: with --stdio that is the protocol) plus listeners
// (the `backstop/log` notification). Secrets are redacted before anything leaves.
import type { LogMessage } from '../../protocol/types';
import type { Logger } from '../core/types';

type Level = LogMessage['level'];
const ORDER: Record<Level, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

export class DaemonLogger implements Logger {
  private listeners = new Set<(m: LogMessage) => void>();
  private secrets = new Set<string>();
  private level: Level;
  constructor(
    level: Level | undefined = process.env.BACKSTOP_LOG_LEVEL as Level | undefined,
    public toStderr = true,
  ) {
    // An unknown name (a typo in BACKSTOP_LOG_LEVEL) is `info`, not "everything".
    this.level = level !== undefined && Object.hasOwn(ORDER, level) ? level : 'info';
  }

  /** Whether a message at `level` goes anywhere: callers skip building costly messages when not. */
  enabled(level: Level): boolean {
    return ORDER[level] >= ORDER[this.level];
  }

  addSecret(s: string): void {
    if (s.length >= 4) this.secrets.add(s);
  }
  removeSecret(s: string): void {
    this.secrets.delete(s);
  }
  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }
  onLog(fn: (m: LogMessage) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  private emit(level: Level, msg: string): void {
    if (!this.enabled(level)) return;
    const m: LogMessage = { level, message: this.redact(msg), at: new Date().toISOString() };
    if (this.toStderr) process.stderr.write(`[backstop ${m.at} ${level}] ${m.message}\n`);
    for (const l of this.listeners) l(m);
  }
  debug(msg: string): void {
    this.emit('debug', msg);
  }
  info(msg: string): void {
    this.emit('info', msg);
  }
  warn(msg: string): void {
    this.emit('warn', msg);
  }
  error(msg: string): void {
    this.emit('error', msg);
  }
}
