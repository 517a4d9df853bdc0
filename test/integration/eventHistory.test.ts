// The daemon-kept event history (backstop/events) and the statistics behind the diagnostics view:
// a request that fell through every model counts as a fallback and as a failure, its history entry
// names each model's reason, and the history survives a daemon restart (it is kept in the state dir).
// Monitoring sessions can be followed live (backstop/monitor { action: 'get' }).
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { requests } from '../../protocol/contract';
import type { HistoryEvent, MonitorResult, Stats } from '../../protocol/types';
import { emptyLocalProvider, spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

function setup(): { cfg: string; stateDir: string } {
  const dir = tmpDir();
  const cfg = writeConfig(dir, { providers: [emptyLocalProvider(dir)] });
  return { cfg, stateDir: path.join(dir, 'state') };
}

describe('backstop/events and backstop/stats', () => {
  it('a request that fell through three models is one fallback and one failure, with each reason; kept across a restart', async () => {
    const { cfg, stateDir } = setup();
    const args = ['--config', cfg, '--state-dir', stateDir];
    const chain = ['local/a', 'local/b', 'local/c'];
    let d = spawnStdio(args);
    let before: HistoryEvent[];
    try {
      const empty = await d.conn.sendRequest<{ events: HistoryEvent[] }>(requests.events.method, {});
      assert.deepEqual(empty.events, []);
      await assert.rejects(
        d.conn.sendRequest(requests.complete.method, {
          prompt: 'x',
          chain,
          forceFail: { models: chain, kind: 'server_error' },
        }),
      );
      const stats = await d.conn.sendRequest<Stats>(requests.stats.method);
      assert.equal(stats.totalRequests, 1);
      assert.equal(stats.fallbackRequests, 1, 'every model was tried: the request fell back');
      assert.equal(stats.failedRequests, 1);

      const { events } = await d.conn.sendRequest<{ events: HistoryEvent[] }>(requests.events.method, {});
      const [failed, ...fallbacks] = events;
      assert.equal(failed?.kind, 'failed', JSON.stringify(events));
      assert.deepEqual(
        failed?.models?.map((m) => [m.model, m.failure]),
        chain.map((m) => [m, 'server_error']),
      );
      assert.ok(failed?.message.length, 'the failure says why');
      assert.deepEqual(
        fallbacks.map((e) => [e.kind, e.from, e.to, e.failure]),
        [
          ['fallback', 'local/b', 'local/c', 'server_error'],
          ['fallback', 'local/a', 'local/b', 'server_error'],
        ],
        'newest first',
      );
      assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'ids are unique');
      for (const e of events) assert.ok(!Number.isNaN(Date.parse(e.at)), e.at);
      const one = await d.conn.sendRequest<{ events: HistoryEvent[] }>(requests.events.method, { limit: 1 });
      assert.deepEqual(one.events, events.slice(0, 1));
      before = events;
    } finally {
      await d.kill();
    }

    d = spawnStdio(args);
    try {
      const { events } = await d.conn.sendRequest<{ events: HistoryEvent[] }>(requests.events.method, {});
      assert.deepEqual(events, before, 'the history survives a daemon restart');
      // New entries after a restart get ids of their own.
      await assert.rejects(
        d.conn.sendRequest(requests.complete.method, {
          prompt: 'x',
          chain: ['local/a', 'local/b'],
          forceFail: { models: ['local/a', 'local/b'], kind: 'timeout' },
        }),
      );
      const next = await d.conn.sendRequest<{ events: HistoryEvent[] }>(requests.events.method, {});
      assert.equal(next.events.length, before.length + 2);
      assert.equal(new Set(next.events.map((e) => e.id)).size, next.events.length, 'ids stay unique after a restart');
    } finally {
      await d.kill();
    }
  });

  it('a request whose only model fails is a failure, not a fallback, and one history entry', async () => {
    const { cfg, stateDir } = setup();
    const d = spawnStdio(['--config', cfg, '--state-dir', stateDir]);
    try {
      await assert.rejects(
        d.conn.sendRequest(requests.complete.method, {
          prompt: 'x',
          chain: ['local/a'],
          forceFail: { models: ['local/a'], kind: 'rate_limited' },
        }),
      );
      const stats = await d.conn.sendRequest<Stats>(requests.stats.method);
      assert.equal(stats.fallbackRequests, 0, 'one model tried: no fallback');
      assert.equal(stats.failedRequests, 1);
      const { events } = await d.conn.sendRequest<{ events: HistoryEvent[] }>(requests.events.method, {});
      assert.deepEqual(
        events.map((e) => e.kind),
        ['failed'],
      );
    } finally {
      await d.kill();
    }
  });
});

describe('backstop/monitor get', () => {
  it('returns the samples of a running session as they accumulate, and the last session after stop', async () => {
    const { cfg, stateDir } = setup();
    const d = spawnStdio(['--config', cfg, '--state-dir', stateDir]);
    try {
      const idle = await d.conn.sendRequest<MonitorResult>(requests.monitor.method, { action: 'get' });
      assert.deepEqual(idle.samples, []);
      assert.equal(idle.running, false);
      const started = await d.conn.sendRequest<MonitorResult>(requests.monitor.method, {
        action: 'start',
        durationS: 10,
        intervalMs: 100,
      });
      assert.equal(started.samples.length, 1);
      let live: MonitorResult = started;
      for (let i = 0; i < 100 && live.samples.length < 3; i++) {
        await new Promise((r) => setTimeout(r, 100));
        live = await d.conn.sendRequest<MonitorResult>(requests.monitor.method, { action: 'get' });
      }
      assert.ok(live.samples.length >= 3, `samples while running: ${live.samples.length}`);
      assert.equal(live.running, true);
      const stopped = await d.conn.sendRequest<MonitorResult>(requests.monitor.method, { action: 'stop' });
      const after = await d.conn.sendRequest<MonitorResult>(requests.monitor.method, { action: 'get' });
      assert.equal(after.running, false);
      assert.deepEqual(after.samples, stopped.samples, 'the last session stays readable');
    } finally {
      await d.kill();
    }
  });
});
