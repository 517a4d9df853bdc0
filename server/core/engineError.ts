// The engine's failures as JSON-RPC error values (code + data), so every transport can send them as is.
import { ERROR_KIND, ErrorCodes } from '../../protocol/errors';
import type { ErrorData } from '../../protocol/types';

/** A failed request as a JSON-RPC error value: `code` from protocol/errors.ts, `data.kind` to match. */
export class EngineError extends Error {
  readonly code: number;
  readonly data: ErrorData;
  constructor(code: number, message: string, data: Omit<ErrorData, 'kind'> = {}) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.data = { kind: ERROR_KIND[code] ?? 'error', ...data };
  }
}

export const isEngineError = (e: unknown): e is EngineError => e instanceof EngineError;

export { ErrorCodes as EngineErrorCodes };
