// Per-purpose chains and latency budgets through the built daemon: a request's purpose picks its chain
// (RPC param, gateway header x-backstop-purpose), a budget hedges the next model in when the first has no
// first token in time, and the status reports each purpose's chain, budget and whether it holds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { methods } from '../../protocol/index';
import type { CompleteResult, Status } from '../../protocol/types';
import { FAULT_MODELS, startFaultServer, type FaultServer } from '../fixtures/faultServer';
import { faultConfig, startGatewayDaemon, type GatewayDaemon } from '../helpers/gatewayDaemon';

const BUDGET_MS = 300;
const SLOW = `fault/${FAULT_MODELS.slowFirstToken20s}`;

describe('per-purpose chains and latency budgets', () => {
  let fault: FaultServer;
  let d: GatewayDaemon;
  before(async () => {
    fault = await startFaultServer();
    d = await startGatewayDaemon(
      faultConfig(fault, {
        chain: ['fault/ok+main'],
        purposes: {
          chat: { chain: ['fault/ok+chat'] },
          complete: { chain: [SLOW, 'fault/ok+budget'], budgetMs: BUDGET_MS },
        },
      }),
    );
  });
  after(async () => {
    await d.stop();
    await fault.close();
  });

  const complete = (params: Record<string, unknown>) =>
    d.rpc<CompleteResult>(methods.complete.method, { prompt: 'hi', maxTokens: 4, ...params });

  it('a purpose with its own chain uses it; one without (and no purpose) uses the main chain', async () => {
    assert.equal((await complete({ purpose: 'chat' })).modelUsed, 'fault/ok+chat');
    assert.equal((await complete({ purpose: 'gateway' })).modelUsed, 'fault/ok+main');
    assert.equal((await complete({})).modelUsed, 'fault/ok+main');
    assert.equal((await complete({ purpose: 'chat', chain: ['fault/ok+explicit'] })).modelUsed, 'fault/ok+explicit');
  });

  it('gateway: x-backstop-purpose picks the purpose chain for model "backstop"; a bad value is a 400', async () => {
    const ask = (headers: Record<string, string>) =>
      d.post('/v1/chat/completions', { model: 'backstop', messages: [{ role: 'user', content: 'hi' }] }, headers);
    const chat = await ask({ 'x-backstop-purpose': 'chat' });
    assert.equal(chat.status, 200, await chat.clone().text());
    assert.equal(chat.headers.get('x-backstop-model'), 'fault/ok+chat');
    const plain = await ask({});
    assert.equal(plain.headers.get('x-backstop-model'), 'fault/ok+main');
    const bad = await ask({ 'x-backstop-purpose': 'ghost' });
    assert.equal(bad.status, 400);
    const err = (await bad.json()) as { error: { message: string } };
    assert.match(err.error.message, /x-backstop-purpose: "ghost" is not a purpose; use one of inline, complete/);
  });

  it('a first token later than the budget hedges the next model in at the budget', async () => {
    const r = await complete({ purpose: 'complete' });
    assert.equal(r.modelUsed, 'fault/ok+budget');
    const slow = r.attempts.find((a) => a.model === SLOW);
    const hedge = r.attempts.find((a) => a.model === 'fault/ok+budget');
    assert.equal(slow?.outcome, 'cancelled', 'the slow model lost the race');
    assert.ok(hedge?.startedAtMs !== undefined && hedge.startedAtMs >= BUDGET_MS, JSON.stringify(r.attempts));
    assert.equal(fault.attemptsFor(FAULT_MODELS.slowFirstToken20s).length, 1);
  });

  it('status reports each purpose: its chain, budget, requests and the share within budget', async () => {
    const s = await d.rpc<Status>(methods.status.method);
    assert.deepEqual(s.purposes?.chat.chain, ['fault/ok+chat']);
    assert.deepEqual(s.purposes?.gateway.chain, ['fault/ok+main']);
    assert.equal(s.purposes?.inline.budgetMs, 400, 'inline has a budget by default');
    assert.equal(s.purposes?.chat.budgetMs, null, 'chat has none');
    const c = s.purposes?.complete;
    assert.equal(c?.budgetMs, BUDGET_MS);
    assert.equal(c?.requests, 1);
    assert.ok(c?.withinBudget !== undefined && c.withinBudget >= 0 && c.withinBudget <= 1);
    assert.ok((c?.p95FirstTokenMs ?? 0) >= BUDGET_MS, 'the hedged answer came after the budget');
  });
});
