// Soak (issue 15, finding 10): thousands of requests through the BUILT daemon (stdio, default settings)
// against the fault server, a fifth of the primaries faulty (503, a stream cut mid-answer, a malformed
// chunk, 429 without a hint, 529 overloaded). Asserts: nothing lost (every request answered), nothing
// wrong (every answer is exactly the fault server's healthy answer, from a healthy model), resident
// memory after warm-up grows ≤ 25 %, open file descriptors return to their count before the load.
// CI runs 2,000 requests (about 10–20 s here); `npm run soak` runs 20,000 (BACKSTOP_SOAK_REQUESTS).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { methods } from '../../protocol/index';
import type { CompleteResult } from '../../protocol/types';
import { FAULT_MODELS, FIXED_ANSWER, startFaultServer, type FaultServer } from '../fixtures/faultServer';
import { spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

const REQUESTS = Math.max(400, Number(process.env.BACKSTOP_SOAK_REQUESTS ?? 2000));
const IN_FLIGHT = 32;
/** Resident memory is sampled every RSS_EVERY requests. The warm-up is the first quarter of the run:
 *  V8 sizes its heap to the load then (86 → ~170 MiB here within the first ~1,000 requests, then
 *  flat: the live heap stays ~30 MiB). Growth = the median of the last quarter's samples over the
 *  median of the quarter right after the warm-up, so that one garbage collection's timing does not
 *  decide it. */
const RSS_EVERY = 50;
const MAX_RSS_GROWTH = 0.25;
/** Faulty models get a fresh name (a model never seen, its circuit closed) every so many requests,
 *  so that the run keeps meeting failing calls, not only open circuits. */
const FAULT_ROTATION = 500;
/** Idle keep-alive sockets to the upstream close within a few seconds of the last request. */
const FD_SETTLE_MS = 15_000;

const FAULTS = [
  FAULT_MODELS.error503Always,
  FAULT_MODELS.cutAfter40,
  FAULT_MODELS.malformedChunk,
  FAULT_MODELS.rateLimitAlways,
  FAULT_MODELS.overloaded,
];
const HEALTHY = Array.from({ length: 20 }, (_, i) => `${FAULT_MODELS.ok}+soak${i}`);

/** Request i's primary: one in five is faulty (20 %), cycling through the fault kinds. */
function primaryFor(i: number): { model: string; faulty: boolean } {
  if (i % 5 !== 4) return { model: HEALTHY[(i * 3) % HEALTHY.length] as string, faulty: false };
  const kind = FAULTS[Math.floor(i / 5) % FAULTS.length] as string;
  return { model: `${kind}+soak-r${Math.floor(i / FAULT_ROTATION)}`, faulty: true };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor((s.length - 1) / 2)] ?? 0);
}

let fault: FaultServer;
before(async () => {
  fault = await startFaultServer();
});
after(async () => {
  await fault.close();
});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

function openFds(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

const MiB = 1024 * 1024;

describe('soak', () => {
  it(`${REQUESTS} requests, 20 % faulty primaries: 0 lost, 0 wrong, RSS growth after warm-up ≤ 25 %, descriptors back to their start`, async () => {
    const dir = tmpDir('backstop-soak-');
    const cfg = writeConfig(dir, {
      providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1`, maxConcurrency: 64 }],
      chain: [`fault/${HEALTHY[0]}`],
    });
    const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    const pid = d.child.pid;
    assert.ok(pid !== undefined);
    try {
      await d.conn.sendRequest(methods.status.method);
      const fdStart = openFds(pid);
      const rssStart = rssBytes(pid);
      const t0 = Date.now();
      let next = 0;
      let answered = 0;
      const wrong: string[] = [];
      const lost: string[] = [];
      const faultyModels = new Set<string>();
      const rss: { at: number; bytes: number }[] = [];
      const worker = async () => {
        for (;;) {
          const i = next++;
          if (i >= REQUESTS) return;
          const { model: primary, faulty } = primaryFor(i);
          if (faulty) faultyModels.add(primary);
          const backup = HEALTHY[(i * 7 + 3) % HEALTHY.length] as string;
          try {
            const r = await d.conn.sendRequest<CompleteResult>(methods.complete.method, {
              prompt: `say the fixed answer (${i})`,
              maxTokens: 100,
              chain: [`fault/${primary}`, `fault/${backup}`],
            });
            answered++;
            const model = r.modelUsed.slice('fault/'.length);
            if (r.text !== FIXED_ANSWER || !HEALTHY.includes(model) || r.usage?.completionTokens !== 60)
              wrong.push(`#${i} from ${r.modelUsed}: ${JSON.stringify(r.text.slice(0, 60))}`);
          } catch (e) {
            lost.push(`#${i} (${primary}): ${(e as Error).message}`);
          }
          if (i % RSS_EVERY === 0) rss.push({ at: i, bytes: rssBytes(pid) });
          if (process.env.BACKSTOP_SOAK_TRACE && i % 1000 === 0)
            console.log(`soak trace: ${i} requests, RSS ${(rssBytes(pid) / MiB).toFixed(0)} MiB, fds ${openFds(pid)}`);
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      const ms = Date.now() - t0;
      const window = (from: number, to: number) =>
        median(rss.filter((x) => x.at >= REQUESTS * from && x.at < REQUESTS * to).map((x) => x.bytes));
      const rssWarm = window(0.25, 0.5);
      const rssEnd = window(0.75, 1);
      const rssPeak = Math.max(...rss.map((x) => x.bytes));
      let fdEnd = openFds(pid);
      const settleStart = Date.now();
      while (fdEnd > fdStart && Date.now() - settleStart < FD_SETTLE_MS) {
        await new Promise((r) => setTimeout(r, 250));
        fdEnd = openFds(pid);
      }
      const faultyAttempts = [...faultyModels].reduce((n, m) => n + fault.attemptsFor(m).length, 0);
      const growth = rssEnd / Math.max(1, rssWarm) - 1;
      console.log(
        `soak: ${REQUESTS} requests in ${(ms / 1000).toFixed(1)} s (${Math.round((REQUESTS * 1000) / ms)} req/s, ${IN_FLIGHT} in flight); ` +
          `answered ${answered}, lost ${lost.length}, wrong ${wrong.length}; ${faultyAttempts} calls to faulty models; ` +
          `RSS ${(rssStart / MiB).toFixed(0)} MiB at start, ${(rssWarm / MiB).toFixed(0)} after warm-up, ${(rssEnd / MiB).toFixed(0)} in the last quarter ` +
          `(${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)} %), peak ${(rssPeak / MiB).toFixed(0)}; ` +
          `descriptors ${fdStart} at start, ${fdEnd} after ${((Date.now() - settleStart) / 1000).toFixed(1)} s idle`,
      );
      assert.deepEqual(lost.slice(0, 5), [], `${lost.length} lost`);
      assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} wrong`);
      assert.equal(answered, REQUESTS);
      assert.ok(faultyAttempts > 0, 'the faulty models were called');
      assert.ok(growth <= MAX_RSS_GROWTH, `RSS grew ${(growth * 100).toFixed(1)} % after warm-up`);
      assert.ok(fdEnd <= fdStart, `descriptors ${fdStart} → ${fdEnd}`);
    } catch (e) {
      if (process.env.DEBUG_DAEMON) console.error(d.stderr());
      throw e;
    } finally {
      await d.kill();
    }
  });
});
