// Classify JSON-RPC errors from the daemon once, so commands only deal with a small union.
// Duck-typed (code/message/data) so it works for vscode-jsonrpc's ResponseError and in unit tests.
import { ErrorCodes } from '../protocol/errors';
import { humanWait } from '../protocol/humanTime';
import { reasonsPerModel } from './attemptsTrace';
import type { Attempt, ErrorData, FallbackPlan } from '../protocol/types';

export type DaemonFailure =
  | { kind: 'not_available'; method: string; message: string }
  | { kind: 'invalid_params'; message: string; field?: string }
  | { kind: 'exhausted'; message: string; retryAfterMs?: number; plan?: FallbackPlan; data?: ErrorData }
  | { kind: 'cancelled'; message: string }
  | { kind: 'not_running'; message: string }
  | { kind: 'other'; code?: number; message: string; data?: ErrorData };

/** The outcome of a request to the daemon: its answer, or the failure classified. */
export type CallResult<R> = { ok: true; value: R } | { ok: false; failure: DaemonFailure };

interface RpcErrorLike {
  code: number;
  message: string;
  data?: unknown;
}

const NOT_RUNNING: DaemonFailure = { kind: 'not_running', message: 'the Backstop daemon is not running' };

function isRpcError(e: unknown): e is RpcErrorLike {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'number' &&
    typeof (e as { message?: unknown }).message === 'string'
  );
}

function isErrorData(d: unknown): d is ErrorData {
  return typeof d === 'object' && d !== null && typeof (d as { kind?: unknown }).kind === 'string';
}

export function classifyError(e: unknown, method: string): DaemonFailure {
  if (isRpcError(e)) {
    const data = isErrorData(e.data) ? e.data : undefined;
    switch (e.code) {
      case ErrorCodes.MethodNotFound:
        return { kind: 'not_available', method, message: `${method} is not available yet in this daemon version` };
      case ErrorCodes.InvalidParams:
        return { kind: 'invalid_params', message: e.message, ...(data?.field ? { field: data.field } : {}) };
      case ErrorCodes.Exhausted:
        return {
          kind: 'exhausted',
          message: e.message,
          data,
          ...(data?.retryAfterMs !== undefined ? { retryAfterMs: data.retryAfterMs } : {}),
          ...(data?.plan ? { plan: data.plan } : {}),
        };
      case ErrorCodes.RequestCancelled:
        return { kind: 'cancelled', message: 'cancelled' };
      // vscode-jsonrpc's own codes when the daemon went away mid-request or before it: not an answer
      // from the daemon, so nothing may claim "the daemon rejected …".
      case ErrorCodes.PendingResponseRejected:
      case ErrorCodes.ConnectionInactive:
        return NOT_RUNNING;
      default:
        return { kind: 'other', code: e.code, message: e.message, ...(data ? { data } : {}) };
    }
  }
  const message = e instanceof Error ? e.message : String(e);
  // vscode-languageclient rejects requests with these messages while the client is not running.
  if (
    /not running|client is not ready|Client is stopped|Pending response rejected since connection got disposed/i.test(
      message,
    )
  ) {
    return NOT_RUNNING;
  }
  if (/cancel/i.test(message)) return { kind: 'cancelled', message: 'cancelled' };
  return { kind: 'other', message };
}

/** One sentence for a notification: what went wrong and what to do. */
export function describeFailure(f: DaemonFailure): string {
  switch (f.kind) {
    case 'not_available':
      return `${f.message}.`;
    case 'invalid_params':
      return `The daemon rejected the value: ${f.message}. Fix it and try again.`;
    case 'exhausted':
      return exhaustedText(f.data?.attempts ?? [], f.retryAfterMs);
    case 'cancelled':
      return 'Cancelled.';
    case 'not_running':
      return 'The Backstop daemon is not running. Run "Backstop: Restart Daemon" or see "Backstop: Show Logs".';
    case 'other':
      // The code is for programs; a person gets the daemon's sentence.
      return sentence(f.message);
  }
}

/** "No model in the chain could answer: cloud/a: server error (HTTP 503); local/b: …. The first is back in 4 min." */
export function exhaustedText(attempts: readonly Attempt[], retryAfterMs: number | undefined): string {
  const reasons = reasonsPerModel(attempts);
  const back =
    retryAfterMs !== undefined && retryAfterMs > 0 ? ` The first is back in ${humanWait(retryAfterMs)}.` : '';
  return `No model in the chain could answer${reasons.length ? `: ${reasons.join('; ')}` : ''}.${back}`;
}

function sentence(text: string): string {
  const t = text.trim();
  const s = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?)]$/.test(s) ? s : `${s}.`;
}
