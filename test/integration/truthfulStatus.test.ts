// Issue 17: the status the daemon reports is true from the first second. Before any request a reachable
// chain is "untested" (never 100 "excellent"); a provider that cannot be reached is found by the cheap
// listing call at start and after a config change, within seconds, without a single request; the
// active model is the one that served the last request; no message carries a raw ms count or ISO time.
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { methods } from '../../protocol/index';
import type { CompleteResult, Status } from '../../protocol/types';
import { FAULT_MODELS, startFaultServer, type FaultServer } from '../fixtures/faultServer';
import { spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

const RAW_MS = /\d{4,} ?ms|\+\d+ ?ms/;
const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d/;
/** The listing call is cheap; "within seconds" here means this. */
const REACHABILITY_BOUND_MS = 5_000;

let fault: FaultServer;
let closedPort: number;
before(async () => {
  fault = await startFaultServer();
  // A port nothing listens on: connections are refused at once.
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closedPort = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
});
after(async () => {
  await fault.close();
});

type Daemon = ReturnType<typeof spawnStdio>;

async function statusWhen(d: Daemon, ok: (s: Status) => boolean, what: string, boundMs: number): Promise<Status> {
  const t0 = Date.now();
  let s = await d.conn.sendRequest<Status>(methods.status.method);
  while (!ok(s)) {
    if (Date.now() - t0 > boundMs) assert.fail(`${what} not within ${boundMs} ms: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 100));
    s = await d.conn.sendRequest<Status>(methods.status.method);
  }
  return s;
}

async function until<T>(get: () => T, ok: (x: T) => boolean, boundMs: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const x = get();
    if (ok(x) || Date.now() - t0 > boundMs) return x;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function assertHumanText(s: Status): void {
  const texts = [s.topRecommendation ?? '', ...(s.factors ?? []).map((f) => f.detail), s.lastFallback?.message ?? ''];
  for (const t of texts) {
    assert.doesNotMatch(t, RAW_MS, t);
    assert.doesNotMatch(t, ISO, t);
  }
}

describe('a truthful status (issue 17)', () => {
  it('untested before any request; the serving model is the active one; the score drops when the primary fails', async () => {
    const dir = tmpDir();
    const primary = `fault/${FAULT_MODELS.error503Always}`;
    const cfg = writeConfig(dir, {
      providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1`, models: ['ok'] }],
      chain: [primary, 'fault/ok'],
    });
    const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    try {
      const first = await statusWhen(d, (s) => s.models.total > 0, 'the first listing', REACHABILITY_BOUND_MS);
      assert.equal(first.healthLevel, 'untested', `before any request: ${first.healthScore} ${first.healthLevel}`);
      assert.notEqual(first.healthScore, 100);
      assert.equal(first.activeModel, null, 'no model has served anything yet');
      assert.ok(first.factors?.some((f) => f.name === 'chainAvailability' && /2 untested/.test(f.detail)));
      assert.match(first.topRecommendation ?? '', /Failover Drill/);

      const r = await d.conn.sendRequest<CompleteResult>(methods.complete.method, { prompt: 'hi', maxTokens: 20 });
      assert.equal(r.modelUsed, 'fault/ok');
      const s = await statusWhen(d, (x) => x.activeModel === 'fault/ok', 'the active model', 2_000);
      assert.ok(s.activeAt && Date.parse(s.activeAt) <= Date.now());
      assert.notEqual(s.healthLevel, 'untested');
      assert.notEqual(s.healthLevel, 'excellent', `primary failing: ${s.healthScore} ${s.healthLevel}`);
      assert.ok(
        s.healthScore < first.healthScore,
        `${s.healthScore} after the primary failed, ${first.healthScore} before`,
      );
      assert.ok((s.models.failing ?? 0) >= 1, JSON.stringify(s.models));
      assertHumanText(s);
    } catch (e) {
      console.error(d.stderr());
      throw e;
    } finally {
      await d.kill();
    }
  });

  it('an unreachable provider is found by its listing call, at start and after a config change, without a request', async () => {
    const dir = tmpDir();
    const gone = { id: 'gone', type: 'openai-compatible', baseUrl: `http://127.0.0.1:${closedPort}/v1`, models: ['m'] };
    const fine = { id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1`, models: ['ok'] };
    const cfg = writeConfig(dir, { providers: [gone, fine], chain: ['gone/m', 'fault/ok'] });
    fault.reset();
    const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    const logs: string[] = [];
    d.conn.onNotification(methods.log.method, (m: { message: string }) => void logs.push(m.message));
    try {
      const t0 = Date.now();
      const s = await statusWhen(
        d,
        (x) => x.factors?.some((f) => /primary gone\/m: it cannot be called now/.test(f.detail)) ?? false,
        'the unreachable primary',
        REACHABILITY_BOUND_MS,
      );
      assert.notEqual(s.healthLevel, 'untested');
      assert.notEqual(s.healthLevel, 'excellent');
      assert.match(s.topRecommendation ?? '', /gone\/m is unreachable/);
      console.log(`unreachable primary reported ${Date.now() - t0} ms after start: ${s.healthScore} ${s.healthLevel}`);
      assert.equal(fault.attempts.length, 0, 'no generation request was sent to find it');

      // One startup summary: what is configured, what was found, the chain.
      const summary = await until(
        () => logs.filter((l) => l.startsWith('ready: ')),
        (x) => x.length > 0,
        5_000,
      );
      assert.equal(summary.length, 1, logs.join('\n'));
      assert.match(summary[0] ?? '', /providers gone \(openai-compatible: not reachable \(network/);
      assert.match(summary[0] ?? '', /fault \(openai-compatible: \d+ of \d+ models ready\)/);
      assert.match(summary[0] ?? '', /chain gone\/m → fault\/ok \(sequential\)/);

      // Fix the config: point the provider at the live server. The status follows within seconds.
      const t1 = Date.now();
      await d.conn.sendRequest(methods.setConfig.method, {
        providers: [{ ...gone, baseUrl: `${fault.url}/v1`, models: ['ok'] }, fine],
        chain: ['gone/ok', 'fault/ok'],
      });
      const fixed = await statusWhen(
        d,
        (x) => x.healthLevel === 'untested',
        'the fixed provider',
        REACHABILITY_BOUND_MS,
      );
      console.log(
        `fixed provider reported ${Date.now() - t1} ms after setConfig: ${fixed.healthScore} ${fixed.healthLevel}`,
      );
      assertHumanText(fixed);
    } catch (e) {
      console.error(d.stderr());
      throw e;
    } finally {
      await d.kill();
    }
  });
});
