// How every client command runs: the common flags, one connection (daemon or embedded), Ctrl-C,
// errors reported in words (or JSON) and mapped to the documented exit codes.
import type { Command } from 'commander';
import { ErrorCodes } from '../../protocol/errors';
import { RpcError } from '../rpc/rpcError';
import { cancelOnInterrupt, connect, type Conn } from './connection';
import { releaseEarlyInterrupt } from './earlyInterrupt';
import { EXIT_CANCELLED, EXIT_ERROR, EXIT_EXHAUSTED, EXIT_USAGE } from './exitCodes';
import { formatAttempts } from './format';

export interface Common {
  json?: boolean;
  config?: string;
  stateDir?: string;
  embedded?: boolean;
}

export function withCommon(c: Command): Command {
  return c
    .option('--json', 'print machine-readable JSON')
    .option('--config <file>', 'use this configuration (starts an embedded daemon)')
    .option('--state-dir <dir>', 'state dir of the daemon to talk to')
    .option('--embedded', 'do not look for a running daemon; start one in this process');
}

export async function run(o: Common, fn: (c: Conn) => Promise<number>): Promise<void> {
  let conn: Conn | undefined;
  let release = () => {};
  let code: number;
  try {
    conn = await connect({
      ...(o.stateDir ? { stateDir: o.stateDir } : {}),
      ...(o.config ? { config: o.config } : {}),
      ...(o.embedded ? { embedded: true } : {}),
    });
    // The new handler first: with no SIGINT listener for a moment, node drops a pending Ctrl-C.
    release = cancelOnInterrupt(conn);
    releaseEarlyInterrupt();
    code = await fn(conn);
  } catch (e) {
    code = report(e, o.json);
  } finally {
    await conn?.close().catch(() => undefined);
    release();
  }
  process.exit(code);
}

function report(e: unknown, json?: boolean): number {
  const err = e instanceof RpcError ? e : undefined;
  if (json)
    process.stdout.write(
      JSON.stringify(
        { error: { code: err?.code ?? null, message: (e as Error).message, data: err?.data ?? null } },
        null,
        2,
      ) + '\n',
    );
  else {
    process.stderr.write(`backstop: ${(e as Error).message}\n`);
    if (err?.data.attempts?.length) process.stderr.write(formatAttempts(err.data.attempts) + '\n');
    if (err?.data.plan) process.stderr.write(`suggestion: ${err.data.plan.recommended.message}\n`);
    if (err?.data.retryAfterMs !== undefined)
      process.stderr.write(`retry in ${Math.ceil(err.data.retryAfterMs / 1000)} s\n`);
  }
  if (err?.code === ErrorCodes.Exhausted || err?.code === ErrorCodes.QueueFull || err?.code === ErrorCodes.Timeout)
    return EXIT_EXHAUSTED;
  if (err?.code === ErrorCodes.RequestCancelled) return EXIT_CANCELLED;
  if (
    err?.code === ErrorCodes.InvalidParams ||
    err?.code === ErrorCodes.UnknownModel ||
    (e as Error).name === 'ConfigError'
  )
    return EXIT_USAGE;
  return EXIT_ERROR;
}

export const out = (json: boolean | undefined, value: unknown, text: () => string) =>
  process.stdout.write((json ? JSON.stringify(value, null, 2) : text()) + '\n');
