// How a failed completion becomes an HTTP answer, whatever API shape the client speaks: one status
// decision, then each endpoint writes its own error body.
import { ErrorCodes } from '../../protocol/errors';
import type { ErrorData } from '../../protocol/types';
import { toRpcError } from '../rpc/rpcError';

const STATUS_BY_CODE: Record<number, number> = {
  [ErrorCodes.Exhausted]: 429,
  [ErrorCodes.QueueFull]: 429,
  [ErrorCodes.Timeout]: 504,
  [ErrorCodes.InvalidParams]: 400,
  [ErrorCodes.Unsupported]: 400,
  [ErrorCodes.UnknownModel]: 400,
  [ErrorCodes.RequestCancelled]: 499,
  [ErrorCodes.Unauthorized]: 401,
};

/** Failures that retrying the same request cannot fix: the request itself is the problem. */
const REQUEST_FAULTS: ReadonlySet<string> = new Set(['bad_request', 'context_overflow', 'content_filter']);

export interface GatewayFailure {
  status: number;
  message: string;
  /** The daemon's error kind (exhausted, unsupported, …). */
  kind: string;
  /** When every model rejected the request itself: the first model's failure kind (content_filter, …). */
  requestFault: string | undefined;
  data: ErrorData;
  headers: Record<string, string>;
}

export function gatewayFailure(e: unknown): GatewayFailure {
  const err = toRpcError(e);
  const data: ErrorData = err.data;
  const failed = (data.attempts ?? []).filter((a) => a.failure !== undefined && a.outcome !== 'skipped');
  // An exhausted chain whose every model rejected the request itself is the caller's 400: a 429
  // would have clients retry, unchanged, forever.
  const requestFault =
    err.code === ErrorCodes.Exhausted && failed.length > 0 && failed.every((a) => REQUEST_FAULTS.has(a.failure ?? ''))
      ? (failed[0]?.failure ?? 'bad_request')
      : undefined;
  const status = requestFault ? 400 : (STATUS_BY_CODE[err.code] ?? 500);
  const headers: Record<string, string> = { 'x-backstop-attempts': String(data.attempts?.length ?? 0) };
  if (status === 429) headers['retry-after'] = String(Math.max(1, Math.ceil((data.retryAfterMs ?? 1000) / 1000)));
  return { status, message: err.message, kind: data.kind, requestFault, data, headers };
}

/** What Backstop adds to every error body: the attempts, the plan and when to retry. */
export function backstopDetail(f: GatewayFailure): Record<string, unknown> {
  return { attempts: f.data.attempts ?? [], plan: f.data.plan ?? null, retryAfterMs: f.data.retryAfterMs ?? null };
}
