import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes } from '../../../protocol';
import { classifyError, describeFailure } from '../../../client/rpcErrors';
import { ErrorCodes as JsonRpcErrorCodes, ResponseError } from 'vscode-jsonrpc';

test('MethodNotFound degrades to "not available yet"', () => {
  const f = classifyError(
    { code: ErrorCodes.MethodNotFound, message: 'Unhandled method backstop/monitor' },
    'backstop/monitor',
  );
  assert.equal(f.kind, 'not_available');
  assert.match(describeFailure(f), /backstop\/monitor is not available yet/);
});

test('exhausted carries retryAfterMs and the plan', () => {
  const plan = {
    failure: 'rate_limited' as const,
    recommended: { type: 'queue_and_wait' as const, confidence: 0.8, message: 'wait' },
    options: [],
  };
  const f = classifyError(
    { code: ErrorCodes.Exhausted, message: 'all failed', data: { kind: 'exhausted', retryAfterMs: 42_000, plan } },
    'backstop/complete',
  );
  assert.equal(f.kind, 'exhausted');
  assert.equal(f.kind === 'exhausted' ? f.retryAfterMs : 0, 42_000);
  assert.deepEqual(f.kind === 'exhausted' ? f.plan : undefined, plan);
  assert.match(describeFailure(f), /42 s/);
});

test('invalid params keep the daemon message and field', () => {
  const f = classifyError(
    {
      code: ErrorCodes.InvalidParams,
      message: 'timeoutMs: Too small',
      data: { kind: 'invalid_params', field: 'timeoutMs' },
    },
    'backstop/setConfig',
  );
  assert.deepEqual(f, { kind: 'invalid_params', message: 'timeoutMs: Too small', field: 'timeoutMs' });
});

test('a stopped client is "not running", with what to do', () => {
  const f = classifyError(new Error('Client is not running'), 'backstop/status');
  assert.equal(f.kind, 'not_running');
  assert.match(describeFailure(f), /Restart Daemon/);
});

test('no JSON-RPC code in a message a person reads', () => {
  const f = classifyError({ code: -32004, message: 'the model is busy' }, 'backstop/complete');
  assert.equal(describeFailure(f), 'The model is busy.');
});

test('all failed: each model once with its reason, and the wait in human time', () => {
  const attempts = [
    {
      model: 'cloud/w-503',
      outcome: 'error' as const,
      failure: 'server_error' as const,
      message: 'HTTP 503',
      latencyMs: 80,
      retry: 0,
    },
    {
      model: 'cloud/w-503',
      outcome: 'error' as const,
      failure: 'server_error' as const,
      message: 'HTTP 503',
      latencyMs: 90,
      retry: 1,
    },
    {
      model: 'local/tiny',
      outcome: 'skipped' as const,
      failure: 'model_missing' as const,
      message: 'no GGUF file',
      latencyMs: 0,
      retry: 0,
    },
  ];
  const f = classifyError(
    { code: ErrorCodes.Exhausted, message: 'x', data: { kind: 'exhausted', retryAfterMs: 280_000, attempts } },
    'backstop/complete',
  );
  const text = describeFailure(f);
  assert.equal(
    text,
    'No model in the chain could answer: cloud/w-503: server error (HTTP 503); local/tiny: skipped (no GGUF file). The first is back in 4 min 40 s.',
  );
  assert.equal(text.split('cloud/w-503').length, 2, 'each model once');
});

test('vscode-jsonrpc errors for a closed or inactive connection are "not running", not a daemon answer', () => {
  const rejected = new ResponseError(
    JsonRpcErrorCodes.PendingResponseRejected,
    'Pending response rejected since connection got disposed',
  );
  const inactive = new ResponseError(JsonRpcErrorCodes.ConnectionInactive, 'Connection is inactive.');
  for (const e of [rejected, inactive]) {
    const f = classifyError(e, 'backstop/setConfig');
    assert.equal(f.kind, 'not_running', `${e.code}: ${JSON.stringify(f)}`);
    assert.doesNotMatch(describeFailure(f), /rejected|answered an error/);
  }
  assert.equal(ErrorCodes.PendingResponseRejected, JsonRpcErrorCodes.PendingResponseRejected);
  assert.equal(ErrorCodes.ConnectionInactive, JsonRpcErrorCodes.ConnectionInactive);
});
