// The fault server's own promises, which the engine's integration tests lean on: attempt records
// with timestamps, per-name state, down-for-N-seconds, reset(), and a close() that ends silent sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_MODELS, FIXED_ANSWER, downModel, startFaultServer } from '../fixtures/faultServer';

const chat = (url: string, model: string, stream = false): Promise<Response> =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
  });

test('down-<N>s: 503 until N seconds after the first request for that name, then healthy', async () => {
  const s = await startFaultServer();
  try {
    const model = downModel(1);
    assert.equal((await chat(s.url, model)).status, 503);
    assert.equal((await chat(s.url, `${model}+other`)).status, 503, 'a +tag name has its own timer');
    await new Promise((r) => setTimeout(r, 1100));
    const res = await chat(s.url, model);
    assert.equal(res.status, 200);
    assert.equal(
      ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content,
      FIXED_ANSWER,
    );
    const recs = s.attemptsFor(model);
    assert.deepEqual(
      recs.map((r) => r.action),
      ['503', 'whole'],
    );
    assert.ok((recs[1]?.at ?? 0) - (recs[0]?.at ?? 0) >= 1000, 'timestamps show the gap');
    s.reset();
    assert.equal(s.attempts.length, 0);
    assert.equal((await chat(s.url, model)).status, 503, 'reset() restarts the down timer');
  } finally {
    await s.close();
  }
});

test('once-faults are per full model name, and reset() re-arms them', async () => {
  const s = await startFaultServer();
  try {
    assert.equal((await chat(s.url, FAULT_MODELS.error500Once)).status, 500);
    assert.equal((await chat(s.url, FAULT_MODELS.error500Once)).status, 200);
    assert.equal((await chat(s.url, `${FAULT_MODELS.error500Once}+b`)).status, 500);
    s.reset();
    assert.equal((await chat(s.url, FAULT_MODELS.error500Once)).status, 500);
  } finally {
    await s.close();
  }
});

test('close() ends silent and stalled connections at once', async () => {
  const s = await startFaultServer();
  const silent = chat(s.url, FAULT_MODELS.silent).then(
    () => 'answered',
    () => 'closed',
  );
  const stalled = chat(s.url, FAULT_MODELS.stallAfter10, true)
    .then((r) => r.text())
    .then(
      () => 'answered',
      () => 'closed',
    );
  await new Promise((r) => setTimeout(r, 200));
  const t0 = Date.now();
  await s.close();
  assert.ok(Date.now() - t0 < 500, `close took ${Date.now() - t0} ms`);
  assert.equal(await silent, 'closed');
  assert.equal(await stalled, 'closed');
});

test('unknown routes answer 404 JSON; listings include every fault model', async () => {
  const s = await startFaultServer();
  try {
    assert.equal((await fetch(`${s.url}/nope`)).status, 404);
    const list = (await (await fetch(`${s.url}/api/tags`)).json()) as { models: { name: string }[] };
    assert.deepEqual(
      list.models.map((m) => m.name),
      Object.values(FAULT_MODELS),
    );
    assert.equal(s.requests.length, 2);
  } finally {
    await s.close();
  }
});
