// Recovery in seconds through the BUILT daemon, under its DEFAULT circuit, retry and backoff settings:
// a primary answering 503 for 15 s and then healthy carries traffic again within 10 s of recovering,
// and sees at most one probe per cooldown interval while it is down (docs/architecture.md, "Recovery").
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultConfig } from '../../protocol/config';
import { methods } from '../../protocol/index';
import type { CompleteResult } from '../../protocol/types';
import { downModel, FIXED_ANSWER, startFaultServer, type FaultServer } from '../fixtures/faultServer';
import { spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

let fault: FaultServer;
before(async () => {
  fault = await startFaultServer();
});
after(async () => {
  await fault.close();
});

const DOWN_S = 15;
const RUN_MS = (DOWN_S + 12) * 1000;
const EVERY_MS = 500;
const RECOVERY_BOUND_MS = 10_000;

describe('recovery through the daemon (default settings)', () => {
  it(`503 for ${DOWN_S} s, a request every ${EVERY_MS} ms: every request answered, ≤ 1 probe per interval, back ≤ 10 s after recovery`, async () => {
    const primary = `${downModel(DOWN_S)}+recovery`;
    const fallback = 'ok+recovery';
    const dir = tmpDir();
    const cfg = writeConfig(dir, {
      providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1` }],
      chain: [`fault/${primary}`, `fault/${fallback}`],
    });
    const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    const results: { at: number; r: CompleteResult }[] = [];
    try {
      const t0 = Date.now();
      while (Date.now() - t0 < RUN_MS) {
        const started = Date.now();
        const r = await d.conn.sendRequest<CompleteResult>(methods.complete.method, {
          prompt: 'say the fixed answer',
          maxTokens: 100,
        });
        results.push({ at: started, r });
        await new Promise((res) => setTimeout(res, Math.max(0, EVERY_MS - (Date.now() - started))));
      }
    } catch (e) {
      console.error(d.stderr());
      throw e;
    } finally {
      await d.kill();
    }
    assert.ok(
      results.every(({ r }) => r.text === FIXED_ANSWER),
      'every request answered with the whole answer',
    );
    const { cooldownMs } = defaultConfig().circuit;
    const calls = fault.attemptsFor(primary);
    const downUntil = (calls[0]?.at ?? 0) + DOWN_S * 1000;
    // The first request retries (maxRetries 2) and opens the circuit; later calls while down are probes.
    const firstRequestCalls = calls.filter((c) => c.at < (results[1]?.at ?? Infinity));
    const probes = calls.slice(firstRequestCalls.length).filter((c) => c.at < downUntil);
    for (let i = 1; i < probes.length; i++) {
      const gap = (probes[i]?.at ?? 0) - (probes[i - 1]?.at ?? 0);
      assert.ok(gap >= cooldownMs - 200, `probes ${gap} ms apart`);
    }
    const back = calls.find((c) => c.at >= downUntil && c.action === 'ok');
    assert.ok(
      back,
      `the primary answered again: ${calls.map((c) => `${c.at - (calls[0]?.at ?? 0)}:${c.action}`).join(' ')}`,
    );
    const backMs = back.at - downUntil;
    assert.ok(backMs <= RECOVERY_BOUND_MS, `back on the primary ${backMs} ms after recovery`);
    const afterBack = results.filter(({ at }) => at > back.at + 1000);
    assert.ok(afterBack.length > 0 && afterBack.every(({ r }) => r.modelUsed === `fault/${primary}`));
    console.log(
      `recovery (daemon, defaults): ${probes.length} probes in ${DOWN_S} s down (≥ ${cooldownMs} ms apart); the primary answered again ${backMs} ms after recovering; ${results.length} requests, all answered`,
    );
  });
});
