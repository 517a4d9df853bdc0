// The daemon connection's trace channel. With the "Backstop" channel at log level Trace and
// backstop.trace.server "verbose", vscode-jsonrpc writes every message's params, and
// backstop/setSecret carries an API key in them: every line goes through redactSecrets first.
import type * as vscode from 'vscode';

/** What stands in for a secret value in the trace. */
export const REDACTED = '[redacted]';

// "apiKey": "…" as JSON writes it: the value ends at the first unescaped quote.
const PLAIN = /("apiKey"\s*:\s*)"(?:[^"\\]|\\.)*"/g;
// \"apiKey\":\"…\" when that JSON is itself inside a JSON string (the json trace format): inside,
// an escape pair of the inner JSON is \\ plus one encoded char (\" \\ or plain), a plain char is
// plain or an outer escape, and the inner closing quote is the outer \".
const ESCAPED = /(\\"apiKey\\"\s*:\s*)\\"(?:\\\\(?:\\["\\]|[^"\\])|\\[^"\\]|[^"\\])*\\"/g;

/** Replace the value of every apiKey field in a trace line. */
export function redactSecrets(text: string): string {
  if (!text.includes('apiKey')) return text;
  return text.replace(ESCAPED, `$1\\"${REDACTED}\\"`).replace(PLAIN, `$1"${REDACTED}"`);
}

/** A LogOutputChannel that redacts, then writes into `target` (the "Backstop" channel). */
export class RedactingChannel implements vscode.LogOutputChannel {
  constructor(private readonly target: vscode.LogOutputChannel) {}

  get name(): string {
    return this.target.name;
  }
  get logLevel(): vscode.LogLevel {
    return this.target.logLevel;
  }
  get onDidChangeLogLevel(): vscode.Event<vscode.LogLevel> {
    return this.target.onDidChangeLogLevel;
  }
  trace(message: string, ...args: unknown[]): void {
    this.target.trace(redactSecrets(message), ...args.map(redactArg));
  }
  debug(message: string, ...args: unknown[]): void {
    this.target.debug(redactSecrets(message), ...args.map(redactArg));
  }
  info(message: string, ...args: unknown[]): void {
    this.target.info(redactSecrets(message), ...args.map(redactArg));
  }
  warn(message: string, ...args: unknown[]): void {
    this.target.warn(redactSecrets(message), ...args.map(redactArg));
  }
  error(error: string | Error, ...args: unknown[]): void {
    this.target.error(
      typeof error === 'string' ? redactSecrets(error) : redactSecrets(error.message),
      ...args.map(redactArg),
    );
  }
  append(value: string): void {
    this.target.append(redactSecrets(value));
  }
  appendLine(value: string): void {
    this.target.appendLine(redactSecrets(value));
  }
  replace(value: string): void {
    this.target.replace(redactSecrets(value));
  }
  clear(): void {
    this.target.clear();
  }
  show(preserveFocus?: boolean): void;
  show(column?: vscode.ViewColumn, preserveFocus?: boolean): void;
  show(a?: boolean | vscode.ViewColumn, b?: boolean): void {
    if (typeof a === 'boolean' || a === undefined) this.target.show(a);
    else this.target.show(a, b);
  }
  hide(): void {
    this.target.hide();
  }
  /** The target belongs to the Ctx, which disposes it. */
  dispose(): void {
    /* nothing of our own */
  }
}

function redactArg(a: unknown): unknown {
  if (typeof a === 'string') return redactSecrets(a);
  if (typeof a === 'object' && a !== null) {
    try {
      return JSON.parse(redactSecrets(JSON.stringify(a))) as unknown;
    } catch {
      return a;
    }
  }
  return a;
}
