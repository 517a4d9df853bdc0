// A JSON-RPC error as a value: every transport turns it into { code, message, data }.
import { ERROR_KIND, ErrorCodes } from '../../protocol/errors';
import type { ErrorData } from '../../protocol/types';

export class RpcError extends Error {
  readonly code: number;
  readonly data: ErrorData;
  constructor(code: number, message: string, data?: Partial<ErrorData>) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.data = { kind: ERROR_KIND[code] ?? 'error', ...data };
  }
}

export const invalidParams = (field: string, reason: string) =>
  new RpcError(ErrorCodes.InvalidParams, `invalid params: ${field}: ${reason}`, { field });

/** Anything thrown by a handler → a wire error. Unknown exceptions become InternalError with their message. */
export function toRpcError(e: unknown): RpcError {
  if (e instanceof RpcError) return e;
  const any = e as { code?: unknown; data?: unknown; message?: unknown } | undefined;
  if (
    any &&
    typeof any.code === 'number' &&
    typeof any.message === 'string' &&
    typeof any.data === 'object' &&
    any.data
  ) {
    return new RpcError(any.code, any.message, any.data as ErrorData);
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new RpcError(ErrorCodes.InternalError, `internal error: ${msg}`);
}
