import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REDACTED, redactSecrets } from '../../../client/traceChannel';

const KEY = 'sk-abc"def\\ghi';

test('the verbose text trace of backstop/setSecret keeps everything but the key', () => {
  const line = `Sending request 'backstop/setSecret - (7)'.\nParams: ${JSON.stringify({ providerId: 'fake', apiKey: KEY }, null, 4)}`;
  const out = redactSecrets(line);
  assert.ok(!out.includes('sk-abc') && !out.includes('def'), out);
  assert.match(out, /"providerId": "fake"/);
  assert.match(out, new RegExp(`"apiKey": "\\${REDACTED.slice(0, -1)}\\]"`));
  assert.match(out, /backstop\/setSecret - \(7\)/);
});

test('the json trace format (params inside a JSON string) is redacted too', () => {
  const inner = JSON.stringify({ method: 'backstop/setSecret', params: { providerId: 'p', apiKey: KEY } });
  const out = redactSecrets(JSON.stringify({ message: inner, after: 1 }));
  assert.ok(!out.includes('sk-abc') && !out.includes('def') && !out.includes('ghi'), out);
  assert.deepEqual(JSON.parse(JSON.parse(out).message), {
    method: 'backstop/setSecret',
    params: { providerId: 'p', apiKey: REDACTED },
  });
  assert.ok(out.includes(REDACTED), out);
});

test('a null key (clearApiKey) and lines without a key pass unchanged', () => {
  const cleared = '{"providerId":"p","apiKey":null}';
  assert.equal(redactSecrets(cleared), cleared);
  assert.equal(redactSecrets('Received response backstop/status'), 'Received response backstop/status');
});
