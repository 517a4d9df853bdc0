import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes } from '../../../protocol';
import { classifyError, describeFailure, formatDuration } from '../../../client/rpcErrors';
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

test('durations read naturally', () => {
  assert.equal(formatDuration(900), '1 s');
  assert.equal(formatDuration(125_000), '2:05 min');
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
