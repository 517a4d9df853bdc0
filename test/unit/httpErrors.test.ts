// The HTTP error → FailureKind table, error bodies of all four formats, and network classification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FailureKind } from '../../protocol/types';
import { errorInfoOf, parseErrorBody } from '../../server/providers/errorBody';
import type { ErrorContext } from '../../server/providers/http';
import {
  classifyErrorPayload,
  classifyFetchError,
  classifyHttpError,
  kindForHttpError,
  networkErrorCode,
} from '../../server/providers/http';

const KEY = 'sk-unit-abcdefghijklmnop0123';
const ctx: ErrorContext = {
  label: 'p/m',
  authHint: 'Set TEST_KEY_ENV or call backstop/setSecret.',
  secrets: () => [KEY],
};
const NOW_MS = 1_700_000_000_000;

test('kindForHttpError: status and body tags of every format', () => {
  const cases: [number, string, FailureKind][] = [
    [429, '{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}', 'rate_limited'],
    [
      429,
      '{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}',
      'bad_request',
    ],
    [429, '{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}', 'rate_limited'],
    [401, '{"error":{"message":"Incorrect API key","code":"invalid_api_key"}}', 'auth'],
    [403, '', 'auth'],
    [
      400,
      '{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}}',
      'auth',
    ],
    [400, '{"error":{"message":"too long","code":"context_length_exceeded"}}', 'context_overflow'],
    [
      400,
      '{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 201000 tokens > 200000 maximum"}}',
      'context_overflow',
    ],
    [
      400,
      '{"error":{"code":400,"message":"The input token count (9000) exceeds the maximum number of tokens allowed (8192).","status":"INVALID_ARGUMENT"}}',
      'context_overflow',
    ],
    [400, '{"error":{"message":"blocked","code":"content_policy_violation"}}', 'content_filter'],
    [
      400,
      '{"error":{"message":"The response was filtered due to the prompt triggering content management policy","code":"content_filter"}}',
      'content_filter',
    ],
    [
      400,
      '{"type":"error","error":{"type":"invalid_request_error","message":"Output blocked by content filtering policy"}}',
      'content_filter',
    ],
    [400, '{"error":{"message":"temperature must be <= 2","code":null}}', 'bad_request'],
    [422, '{"detail":"bad field"}', 'bad_request'],
    [404, '{"error":"model \'llama9\' not found, try pulling it first"}', 'model_missing'],
    [404, '<html>Not Found</html>', 'model_missing'],
    [500, '{"type":"error","error":{"type":"api_error","message":"Internal"}}', 'server_error'],
    [503, '{"error":{"code":503,"status":"UNAVAILABLE","message":"overloaded"}}', 'server_error'],
    [529, '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', 'server_error'],
    [408, '', 'server_error'],
  ];
  for (const [status, body, want] of cases)
    assert.equal(kindForHttpError(status, parseErrorBody(body)), want, `${status} ${body}`);
});

test('parseErrorBody reads each format, RetryInfo and ErrorInfo included', () => {
  assert.deepEqual(parseErrorBody('{"error":"plain ollama"}'), { message: 'plain ollama' });
  assert.deepEqual(
    parseErrorBody(
      '[{"error":{"code":429,"message":"q","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}}]',
    ),
    {
      message: 'q',
      status: 'RESOURCE_EXHAUSTED',
      retryDelayMs: 37_000,
    },
  );
  assert.deepEqual(parseErrorBody('not json'), {});
  assert.deepEqual(errorInfoOf({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), {
    type: 'overloaded_error',
    message: 'Overloaded',
  });
});

test('classifyHttpError: message names label, status, code, reason and the fix; keys are redacted', () => {
  const e = classifyHttpError(
    ctx,
    401,
    new Headers(),
    `{"error":{"message":"Incorrect API key provided: ${KEY}","code":"invalid_api_key"}}`,
    NOW_MS,
  );
  assert.equal(e.kind, 'auth');
  assert.equal(e.status, 401);
  assert.match(
    e.message,
    /^p\/m: authentication failed \(HTTP 401, invalid_api_key\): Incorrect API key provided: \*\*\*\. Set TEST_KEY_ENV/,
  );
  assert.ok(!e.message.includes(KEY));
});

test('classifyHttpError: retryAfterMs from headers, else from Gemini RetryInfo; only on retryable kinds', () => {
  assert.equal(classifyHttpError(ctx, 429, new Headers({ 'retry-after': '3' }), '', NOW_MS).retryAfterMs, 3000);
  const gem = '{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"q","details":[{"retryDelay":"1.5s"}]}}';
  assert.equal(classifyHttpError(ctx, 429, new Headers(), gem, NOW_MS).retryAfterMs, 1500);
  assert.equal(classifyHttpError(ctx, 503, new Headers({ 'retry-after': '7' }), '', NOW_MS).retryAfterMs, 7000);
  assert.equal(classifyHttpError(ctx, 400, new Headers({ 'retry-after': '7' }), '', NOW_MS).retryAfterMs, undefined);
});

test('classifyErrorPayload: an untagged error inside a stream is a server error; tagged ones keep their kind', () => {
  assert.equal(classifyErrorPayload(ctx, { error: { message: 'upstream hiccup' } }).kind, 'server_error');
  assert.equal(
    classifyErrorPayload(ctx, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }).kind,
    'server_error',
  );
  assert.equal(
    classifyErrorPayload(ctx, { error: { code: 'context_length_exceeded', message: 'too long' } }).kind,
    'context_overflow',
  );
  assert.equal(
    classifyErrorPayload(ctx, { type: 'error', error: { type: 'rate_limit_error', message: 'slow' } }).kind,
    'rate_limited',
  );
});

function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}
const sysErr = (code: string): Error => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });

test('classifyFetchError: undici causes → network with a precise reason', () => {
  const signal = new AbortController().signal;
  const cases: [unknown, RegExp][] = [
    [fetchFailed(sysErr('ECONNREFUSED')), /connection refused by http:\/\/h:1.*\(ECONNREFUSED\)/],
    [fetchFailed(sysErr('ECONNRESET')), /reset/],
    [fetchFailed(sysErr('ENOTFOUND')), /DNS lookup failed/],
    [fetchFailed(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })), /closed by/],
    [fetchFailed(new AggregateError([sysErr('ECONNREFUSED'), sysErr('ECONNREFUSED')])), /refused/],
    [fetchFailed(new Error('mystery')), /request to http:\/\/h:1 failed: fetch failed: mystery/],
  ];
  for (const [err, re] of cases) {
    const e = classifyFetchError(ctx, err, signal, 'http://h:1/v1/x');
    assert.equal(e.kind, 'network');
    assert.match(e.message, re);
  }
  assert.equal(networkErrorCode(fetchFailed(new AggregateError([sysErr('EHOSTUNREACH')]))), 'EHOSTUNREACH');
});

test('classifyFetchError: our abort → cancelled; an invalid URL → bad_request naming baseUrl', () => {
  const ac = new AbortController();
  ac.abort();
  assert.equal(
    classifyFetchError(ctx, new DOMException('aborted', 'AbortError'), ac.signal, 'http://h/').kind,
    'cancelled',
  );
  const bad = classifyFetchError(ctx, new TypeError('Failed to parse URL'), new AbortController().signal, 'not a url');
  assert.equal(bad.kind, 'bad_request');
  assert.match(bad.message, /baseUrl/);
});
