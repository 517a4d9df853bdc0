// JSON-RPC error codes of the Backstop protocol.

export const ErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  RequestCancelled: -32800,
  Exhausted: -32001,
  QueueFull: -32002,
  Timeout: -32003,
  UnknownModel: -32004,
  Unauthorized: -32005,
  MessageTooLarge: -32006,
  /** No model in the chain can serve the request (it needs tools, vision, structured output or more context). */
  Unsupported: -32007,
  /** vscode-jsonrpc (client side): a pending request was rejected because the connection closed. */
  PendingResponseRejected: -32097,
  /** vscode-jsonrpc (client side): a request was sent on a connection that is not listening (any more). */
  ConnectionInactive: -32096,
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export const ERROR_KIND: Record<number, string> = {
  [ErrorCodes.ParseError]: 'parse_error',
  [ErrorCodes.InvalidRequest]: 'invalid_request',
  [ErrorCodes.MethodNotFound]: 'method_not_found',
  [ErrorCodes.InvalidParams]: 'invalid_params',
  [ErrorCodes.InternalError]: 'internal',
  [ErrorCodes.RequestCancelled]: 'cancelled',
  [ErrorCodes.Exhausted]: 'exhausted',
  [ErrorCodes.QueueFull]: 'queue_full',
  [ErrorCodes.Timeout]: 'timeout',
  [ErrorCodes.UnknownModel]: 'unknown_model',
  [ErrorCodes.Unauthorized]: 'unauthorized',
  [ErrorCodes.MessageTooLarge]: 'message_too_large',
  [ErrorCodes.Unsupported]: 'unsupported',
};
