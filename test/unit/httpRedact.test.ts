// redact(): exact secrets, URL-encoded secrets, well-known key shapes, Errors with causes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, createRedactor, redact } from '../../server/providers/redact';

test('exact secrets are removed wherever they appear, URL-encoded too', () => {
  const key = 'my/odd+proxy=token';
  const out = redact(`a ${key} b ${encodeURIComponent(key)} c`, [key]);
  assert.equal(out, `a ${REDACTED} b ${REDACTED} c`);
});

test('short or missing secrets are ignored (replacing "ab" everywhere would wreck messages)', () => {
  assert.equal(redact('tab cab', ['ab', undefined]), 'tab cab');
});

test('well-known key shapes are removed even when we never held them', () => {
  const cases: [string, string][] = [
    ['Incorrect API key provided: sk-proj-abcdefghijklmnop1234.', `Incorrect API key provided: ${REDACTED}.`],
    ['key sk-ant-api03-AAAAAAAAAAAAAAAAAAAA here', `key ${REDACTED} here`],
    ['AIzaSyA1234567890abcdefghijklmnopqrs', REDACTED],
    ['gsk_abcdefghijklmnopqrstuvwx', REDACTED],
    ['Authorization: Bearer abc.def-ghi_123456', `Authorization: Bearer ${REDACTED}`],
    ['{"x-api-key":"zzzz-yyyy-xxxx"}', `{"x-api-key":"${REDACTED}"}`],
    ['GET /v1beta/models?key=secretvalue123&alt=sse', `GET /v1beta/models?key=${REDACTED}&alt=sse`],
  ];
  for (const [input, want] of cases) assert.equal(redact(input), want, input);
});

test('ordinary text is left alone', () => {
  const s = 'openai/gpt-4o: rate limited (HTTP 429): completion_tokens=60, max tokens: 4096, task-runner';
  assert.equal(redact(s), s);
});

test('Errors: message and cause chain, all redacted', () => {
  const key = 'sk-live-0123456789abcdef';
  const e = new Error(`outer ${key}`, { cause: new Error(`inner ${key}`) });
  const out = redact(e, [key]);
  assert.equal(out, `outer ${REDACTED}: inner ${REDACTED}`);
});

test('createRedactor reads the secrets at call time (setSecret can change them)', () => {
  let current = 'first-secret-1';
  const r = createRedactor(() => [current]);
  assert.equal(r('first-secret-1'), REDACTED);
  current = 'second-secret-2';
  assert.equal(r('first-secret-1 second-secret-2'), `first-secret-1 ${REDACTED}`);
});
