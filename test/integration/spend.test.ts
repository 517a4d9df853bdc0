// Spend, budgets and the cheapest strategy through the built daemon (the fault server as three priced
// providers): usage per provider and model from backstop/usage and `backstop usage`, a provider past its
// budget skipped with reason "budget" while the chain answers from the next, `cheapest` ordering by
// expected cost, and the ledger surviving a daemon restart.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { methods } from '../../protocol/index';
import type { CompleteResult, Status, UsageReport } from '../../protocol/types';
import { startFaultServer, type FaultServer } from '../fixtures/faultServer';
import { runCli, spawnCli, tmpDir, waitForDaemonFile, writeConfig, type Spawned } from '../helpers/daemon';

const cli = runCli;

describe('spend, budgets and the cheapest strategy', () => {
  let fault: FaultServer;
  let cfg: string;
  let state: string;
  let daemon: Spawned;
  let rpc: <R>(method: string, params?: unknown) => Promise<R>;

  const start = async () => {
    daemon = spawnCli(['serve', '--http', '0', '--ws', '0', '--config', cfg, '--state-dir', state]);
    const info = await waitForDaemonFile(state, daemon);
    let id = 0;
    rpc = async <R>(method: string, params?: unknown): Promise<R> => {
      const res = await fetch(`http://127.0.0.1:${info.httpPort}/rpc`, {
        method: 'POST',
        headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, ...(params === undefined ? {} : { params }) }),
      });
      const m = (await res.json()) as { result?: R; error?: { message: string } };
      if (m.error) throw new Error(`${method}: ${m.error.message}`);
      return m.result as R;
    };
  };

  before(async () => {
    fault = await startFaultServer();
    const dir = tmpDir('backstop-spend-');
    state = path.join(dir, 'state');
    const provider = (id: string) => ({ id, type: 'openai-compatible', baseUrl: `${fault.url}/v1`, models: ['ok'] });
    cfg = writeConfig(dir, {
      providers: [provider('budgeted'), provider('pricey'), provider('cheap')],
      chain: ['budgeted/ok', 'cheap/ok'],
      maxRetries: 0,
      prices: {
        'budgeted/ok': { inputPerMTok: 1000, outputPerMTok: 1000 },
        'pricey/ok': { inputPerMTok: 10, outputPerMTok: 30 },
        'cheap/ok': { inputPerMTok: 0.01, outputPerMTok: 0.02 },
      },
      budgets: [{ provider: 'budgeted', period: 'day', usd: 0.01 }],
    });
    await start();
  });
  after(async () => {
    await daemon.kill();
    await fault.close();
  });

  const complete = (params: Record<string, unknown> = {}) =>
    rpc<CompleteResult>(methods.complete.method, { prompt: 'hello there', maxTokens: 16, ...params });

  it('usage counts tokens and dollars per provider and model at the configured price', async () => {
    const r = await complete();
    assert.equal(r.modelUsed, 'budgeted/ok');
    assert.ok(r.usage, 'the fault server reports usage');
    const u = await rpc<UsageReport>(methods.usage.method);
    const row = u.day.rows.find((x) => x.model === 'budgeted/ok');
    assert.deepEqual(
      [row?.provider, row?.requests, row?.inputTokens, row?.outputTokens],
      ['budgeted', 1, r.usage.promptTokens, r.usage.completionTokens],
    );
    const expected = ((r.usage.promptTokens + r.usage.completionTokens) * 1000) / 1_000_000;
    assert.ok(Math.abs((row?.usd ?? 0) - expected) < 1e-9, `${row?.usd} vs ${expected}`);
    assert.equal(u.month.rows.find((x) => x.model === 'budgeted/ok')?.usd, row?.usd);
  });

  it('past its budget a provider is skipped with reason "budget" and the chain answers from the next', async () => {
    const s = await rpc<Status>(methods.status.method);
    const b = s.budgets?.find((x) => x.provider === 'budgeted');
    assert.equal(b?.exceeded, true, JSON.stringify(s.budgets));
    assert.equal(b?.warning, true);
    const before = fault.attempts.length;
    const r = await complete();
    assert.equal(r.modelUsed, 'cheap/ok');
    const skipped = r.attempts.find((a) => a.model === 'budgeted/ok');
    assert.equal(skipped?.outcome, 'skipped');
    assert.match(skipped?.message ?? '', /^budget: budgeted spent \$\d+\.\d\d of its \$0\.01 this day; skipped until/);
    assert.equal(fault.attempts.length, before + 1, 'only the next model was called');
  });

  it('cheapest: the cheaper model goes first whatever the chain order; sequential keeps the order', async () => {
    const cheapest = await complete({ chain: ['pricey/ok', 'cheap/ok'], strategy: 'cheapest' });
    assert.equal(cheapest.modelUsed, 'cheap/ok');
    assert.deepEqual(
      cheapest.attempts.map((a) => a.model),
      ['cheap/ok'],
    );
    const sequential = await complete({ chain: ['pricey/ok', 'cheap/ok'], strategy: 'sequential' });
    assert.equal(sequential.modelUsed, 'pricey/ok');
  });

  it('backstop usage prints the table and the budgets; --json is the RPC answer', async () => {
    const text = await cli(['usage', '--state-dir', state]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Today \d{4}-\d\d-\d\d \(UTC\)/);
    assert.match(text.stdout, /budgeted\/ok/);
    assert.match(text.stdout, /budgeted per day: \$0\.01 — spent .* USED UP/);
    const json = await cli(['usage', '--json', '--state-dir', state]);
    const u = JSON.parse(json.stdout) as UsageReport;
    assert.deepEqual(u.day.rows.map((r) => r.model).sort(), ['budgeted/ok', 'cheap/ok', 'pricey/ok']);
    assert.equal(u.history.length, 1);
  });

  it('the ledger survives a restart (and so does the budget)', async () => {
    const before = await rpc<UsageReport>(methods.usage.method);
    await daemon.kill();
    await start();
    const after = await rpc<UsageReport>(methods.usage.method);
    assert.deepEqual(after.day.rows, before.day.rows);
    const r = await complete();
    assert.equal(r.modelUsed, 'cheap/ok', 'the used-up budget still holds after the restart');
  });
});
