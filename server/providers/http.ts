// Shared HTTP plumbing of the cloud providers: requests with abort, network error classification,
// rate-limit header parsing, and the one place where an HTTP error becomes a FailureKind.
//
// Design note (README): the cloud providers use node:http(s) over keep-alive agents (httpClient.ts;
// the global fetch cost three times the CPU per request) and `eventsource-parser` v3 for SSE — not
// the vendors' SDKs. Reasons: the engine must be the only
// retry loop (SDKs retry by default, each with its own policy); one error classifier sees every
// status, header and body the same way across four wire formats; abort is the same AbortSignal
// everywhere; the SDKs would add megabytes to the daemon bundle for four small request shapes; and
// the loopback fault server exercises exactly the bytes we parse. API keys travel in headers only,
// never in URLs, and every message leaving this folder passes through `redact()`.
import type { Logger } from '../core/types';
import { ProviderError } from '../core/types';
import { humanDuration } from '../../protocol/humanTime';
import type { FailureKind } from '../../protocol/types';
import type { ErrorBodyInfo } from './errorBody';
import { errorInfoOf, parseErrorBody } from './errorBody';
import { BadUrlError, type HeaderReader, wireRequest, type WireRequest, type WireResponse } from './httpClient';
import { redact } from './redact';
import { parseRetryAfterMs } from './retryAfter';

/** Error bodies larger than this are cut: we only need the message. */
const MAX_ERROR_BODY_CHARS = 16_384;
/** Provider error text quoted in our messages is cut to this length. */
const MAX_QUOTED_CHARS = 500;

/** What the error classifier needs to word a message that says what to do. */
export interface ErrorContext {
  /** "providerId/model" or "providerId" for provider-wide calls such as listModels. */
  label: string;
  /** Sentence appended to auth failures, e.g. "Set OPENAI_API_KEY or call backstop/setSecret …". */
  authHint: string;
  /** The secrets to strip from every message (read at throw time: keys change at run time). */
  secrets: () => Iterable<string | undefined>;
  logger?: Logger;
}

/** POST/GET over the keep-alive agents; network failures and aborts become ProviderErrors. */
export async function httpFetch(
  ctx: ErrorContext,
  url: string,
  init: WireRequest,
  signal: AbortSignal,
): Promise<WireResponse> {
  if (signal.aborted) throw cancelledError(ctx, signal);
  if (ctx.logger && ctx.logger.enabled?.('debug') !== false)
    ctx.logger.debug(redact(`${ctx.label}: ${init.method} ${stripQuery(url)}`, ctx.secrets()));
  try {
    return await wireRequest(url, init, signal);
  } catch (e) {
    throw classifyFetchError(ctx, e, signal, url);
  }
}

/** Read a non-2xx response and throw it as a classified ProviderError. */
export async function throwHttpError(
  ctx: ErrorContext,
  res: WireResponse,
  signal: AbortSignal,
  nowMs: number = Date.now(),
): Promise<never> {
  let body: string;
  try {
    body = (await res.text()).slice(0, MAX_ERROR_BODY_CHARS);
  } catch (e) {
    if (signal.aborted) throw cancelledError(ctx, signal);
    body = '';
    ctx.logger?.debug(redact(`${ctx.label}: could not read error body: ${redact(e)}`, ctx.secrets()));
  }
  throw classifyHttpError(ctx, res.status, res.headers, body, nowMs, res.url);
}

/** The one mapping from an HTTP error (status, headers, body of any of our four formats) to a FailureKind. */
export function classifyHttpError(
  ctx: ErrorContext,
  status: number,
  headers: HeaderReader,
  body: string,
  nowMs: number,
  url = '',
): ProviderError {
  const info = parseErrorBody(body);
  const kind = kindForHttpError(status, info);
  const retryAfterMs = parseRetryAfterMs(headers, nowMs) ?? info.retryDelayMs;
  const quoted = quote(info.message ?? (body.trim() || undefined));
  const code = [info.code, info.type, info.status].find((c) => c !== undefined && c !== '');
  let text = `${ctx.label}: ${KIND_TEXT[kind]} (HTTP ${status}${code === undefined ? '' : `, ${code}`})`;
  if (quoted !== undefined) text += `: ${quoted.replace(/[.\s]+$/, '')}`;
  if (kind === 'auth') text += `. ${ctx.authHint}`;
  if (kind === 'rate_limited')
    text += retryAfterMs === undefined ? '; no Retry-After given' : `; retry after ${humanDuration(retryAfterMs)}`;
  if (kind === 'model_missing' && info.message === undefined)
    text += `. Nothing answered at ${stripQuery(url) || 'that URL'}: check the model name and the provider's baseUrl`;
  return new ProviderError(kind, redact(text, ctx.secrets()), {
    status,
    ...(kind === 'rate_limited' || kind === 'server_error' ? (retryAfterMs === undefined ? {} : { retryAfterMs }) : {}),
  });
}

const KIND_TEXT: Record<FailureKind, string> = {
  rate_limited: 'rate limited',
  timeout: 'timed out',
  network: 'network error',
  server_error: 'server error',
  auth: 'authentication failed',
  bad_request: 'request rejected',
  context_overflow: 'prompt exceeds the model context',
  content_filter: 'blocked by the content filter',
  stream_interrupted: 'stream interrupted',
  model_missing: 'model not found',
  model_load: 'model failed to load',
  out_of_memory: 'out of memory',
  cancelled: 'cancelled',
  unsupported: 'not supported by this model or server',
  unknown: 'failed',
};

const CONTEXT_RE =
  /context[ _-]?length|context window|maximum context|prompt is too long|too many tokens|input token count|exceeds the (?:maximum|max) number of tokens|reduce the length/i;
const CONTENT_RE = /content[ _-]?(?:policy|filter|management)|safety (?:system|settings)|blocked by|responsible ?ai/i;

/** Status + parsed body → kind. Exported for unit tests of the mapping table. */
export function kindForHttpError(status: number, info: ErrorBodyInfo): FailureKind {
  const tags = [info.code, info.type, info.status, info.reason]
    .filter((t): t is string => t !== undefined)
    .map((t) => t.toLowerCase());
  const has = (...names: string[]) => names.some((n) => tags.includes(n));
  const msg = info.message ?? '';
  if (has('context_length_exceeded', 'string_above_max_length')) return 'context_overflow';
  if (has('content_policy_violation', 'content_filter')) return 'content_filter';
  if (
    status === 401 ||
    status === 403 ||
    has(
      'authentication_error',
      'permission_error',
      'invalid_api_key',
      'unauthenticated',
      'permission_denied',
      'api_key_invalid',
    )
  )
    return 'auth';
  // Quota/billing exhaustion is a 429 that waiting will not fix: fail over, do not back off.
  if (has('insufficient_quota', 'billing_hard_limit_reached')) return 'bad_request';
  if (status === 429 || has('rate_limit_error', 'rate_limit_exceeded', 'resource_exhausted')) return 'rate_limited';
  if (status === 529 || status >= 500 || has('overloaded_error', 'api_error', 'unavailable', 'internal'))
    return 'server_error';
  if (status === 404 || has('not_found_error', 'model_not_found', 'not_found')) return 'model_missing';
  if ((status === 400 || status === 413 || status === 422) && CONTEXT_RE.test(msg)) return 'context_overflow';
  if (status === 400 && CONTENT_RE.test(msg)) return 'content_filter';
  if (status === 408) return 'server_error';
  return 'bad_request';
}

/** A request rejection → cancelled (our signal), bad_request (bad URL) or network (refused, reset, DNS, TLS). */
export function classifyFetchError(ctx: ErrorContext, e: unknown, signal: AbortSignal, url: string): ProviderError {
  if (signal.aborted) return cancelledError(ctx, signal);
  const code = networkErrorCode(e);
  const origin = originOf(url);
  if (origin === undefined || e instanceof BadUrlError)
    return new ProviderError(
      'bad_request',
      redact(
        `${ctx.label}: ${e instanceof BadUrlError ? e.message : `invalid URL "${url}"`}: check the provider's baseUrl`,
        ctx.secrets(),
      ),
      { cause: e },
    );
  const reason = NETWORK_TEXT[code ?? ''] ?? `request to ${origin} failed`;
  const detail = code === undefined ? `: ${redact(e, ctx.secrets())}` : ` (${code})`;
  return new ProviderError(
    'network',
    redact(`${ctx.label}: network error: ${reason.replace('%s', origin)}${detail}`, ctx.secrets()),
  );
}

/**
 * An error object that arrived INSIDE a 200 stream (OpenRouter, Anthropic `event: error`, Ollama
 * `{"error":…}` lines). Without an HTTP status the body's tags decide; an untagged one is taken as
 * a server-side failure (retryable), since the request itself was accepted.
 */
export function classifyErrorPayload(ctx: ErrorContext, json: unknown, status?: number): ProviderError {
  const info = errorInfoOf(json);
  const guessed = kindForHttpError(status ?? 400, info);
  const kind = status === undefined && guessed === 'bad_request' ? 'server_error' : guessed;
  const code = [info.code, info.type, info.status].find((c) => c !== undefined && c !== '');
  let text = `${ctx.label}: ${KIND_TEXT[kind]} mid-stream${code === undefined ? '' : ` (${code})`}: ${quote(info.message) ?? 'no message'}`;
  if (kind === 'auth') text += `. ${ctx.authHint}`;
  return new ProviderError(kind, redact(text, ctx.secrets()), {
    ...(status === undefined ? {} : { status }),
    ...(info.retryDelayMs === undefined ? {} : { retryAfterMs: info.retryDelayMs }),
  });
}

const NETWORK_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused by %s: is the server running and is baseUrl right?',
  ECONNRESET: 'connection reset by %s before a response',
  UND_ERR_SOCKET: 'connection closed by %s before a response',
  EPIPE: 'connection closed by %s while sending',
  ENOTFOUND: 'DNS lookup failed for %s',
  EAI_AGAIN: 'DNS lookup failed (temporarily) for %s',
  ETIMEDOUT: 'connecting to %s timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connecting to %s timed out',
  UND_ERR_HEADERS_TIMEOUT: '%s sent no response headers in time',
  EHOSTUNREACH: '%s is unreachable',
  ENETUNREACH: 'no network route to %s',
};

/** The system/undici error code hidden in fetch's `TypeError('fetch failed')` cause chain. */
export function networkErrorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 4 && typeof cur === 'object' && cur !== null; depth++) {
    const rec = cur as { code?: unknown; errors?: unknown; cause?: unknown };
    if (typeof rec.code === 'string') return rec.code;
    // Happy-eyeballs connects (localhost → ::1 and 127.0.0.1) fail with an AggregateError.
    if (Array.isArray(rec.errors) && rec.errors.length > 0) cur = rec.errors[0];
    else cur = rec.cause;
  }
  return undefined;
}

export function cancelledError(ctx: ErrorContext, signal: AbortSignal): ProviderError {
  // The engine may abort with a classified reason (e.g. its own timeout); keep that verdict.
  const reason: unknown = signal.reason;
  if (reason instanceof ProviderError) return reason;
  return new ProviderError('cancelled', `${ctx.label}: cancelled`);
}

function quote(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > MAX_QUOTED_CHARS ? `${one.slice(0, MAX_QUOTED_CHARS)}…` : one;
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

function stripQuery(url: string): string {
  const i = url.indexOf('?');
  return i < 0 ? url : url.slice(0, i);
}

/** Join a base URL and a path without doubling or dropping the slash. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** What every cloud provider is built from (assembled by cloud.ts from the provider's config). */
export interface CloudContext {
  id: string;
  /** Without a trailing slash. */
  baseUrl: string;
  /** Extra headers from the config (e.g. OpenRouter's HTTP-Referer); treated as secrets too. */
  headers: Record<string, string>;
  /** Read at call time: setSecret and environment changes apply to the next request. */
  getApiKey(): string | undefined;
  modelInfo: Record<string, { contextLength?: number | undefined; capabilities?: string[] | undefined }>;
  anthropicVersion?: string;
  logger?: Logger;
  /** Labels, auth hint and secrets for errors about `model` (or the provider as a whole). */
  errorContext(model?: string): ErrorContext;
}

/** The provider's wire headers: config headers, then the auth header when a key is known. */
export function withAuth(
  ctx: CloudContext,
  authHeaders: (key: string) => Record<string, string>,
): Record<string, string> {
  const key = ctx.getApiKey();
  return { ...ctx.headers, ...(key === undefined || key === '' ? {} : authHeaders(key)) };
}

/** For APIs that always need a key: fail before the network with the fix in the message. */
export function requireKey(ctx: CloudContext, model?: string): string {
  const key = ctx.getApiKey();
  if (key !== undefined && key !== '') return key;
  const ec = ctx.errorContext(model);
  throw new ProviderError('auth', `${ec.label}: no API key. ${ec.authHint}`);
}

/** GET (or POST with `body`) a JSON document; any failure is a classified, redacted ProviderError. */
export async function getJson(
  ctx: ErrorContext,
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  body?: unknown,
): Promise<unknown> {
  const init: WireRequest =
    body === undefined
      ? { method: 'GET', headers: { accept: 'application/json', ...headers } }
      : {
          method: 'POST',
          headers: { accept: 'application/json', 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        };
  const res = await httpFetch(ctx, url, init, signal);
  if (!res.ok) await throwHttpError(ctx, res, signal);
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    if (signal.aborted) throw cancelledError(ctx, signal);
    throw classifyFetchError(ctx, e, signal, url);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ProviderError(
      'server_error',
      redact(`${ctx.label}: ${stripQuery(url)} answered with invalid JSON (${redact(e)})`, ctx.secrets()),
    );
  }
}
