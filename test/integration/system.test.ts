// SystemMonitor against the real machine through systeminformation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { SystemMonitor, toGpu, freeVramBytes } from '../../server/system/systemSource';

function meminfoBytes(key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  assert.ok(m?.[1], `${key} missing from /proc/meminfo`);
  return Number(m[1]) * 1024;
}

test('the snapshot matches /proc/meminfo and reports the CPU; no GPU is an empty list', async () => {
  const updates: number[] = [];
  const mon = new SystemMonitor({ refreshMs: 200, onUpdate: (s) => updates.push(s.memory.availableBytes) });
  await mon.start();
  try {
    const s = mon.snapshot();
    const total = meminfoBytes('MemTotal');
    assert.ok(
      Math.abs(s.memory.totalBytes - total) / total < 0.02,
      `total ${s.memory.totalBytes} vs MemTotal ${total}`,
    );
    const available = meminfoBytes('MemAvailable');
    assert.ok(s.memory.availableBytes > 0 && s.memory.availableBytes <= s.memory.totalBytes);
    assert.ok(
      Math.abs(s.memory.availableBytes - available) / total < 0.1,
      `available ${s.memory.availableBytes} vs MemAvailable ${available}`,
    );
    assert.ok(Array.isArray(s.gpus));
    assert.equal(s.cpu.cores, (await import('node:os')).cpus().length);
    assert.ok(s.cpu.physicalCores !== undefined && s.cpu.physicalCores >= 1);
    assert.ok(s.cpu.loadPercent >= 0 && s.cpu.loadPercent <= 100);
    assert.equal(s.platform, process.platform);
    assert.ok(s.at !== undefined && Date.parse(s.at) <= Date.now());
    // The snapshot is a copy: a caller cannot corrupt the cache.
    s.memory.totalBytes = 1;
    assert.notEqual(mon.snapshot().memory.totalBytes, 1);
    // It keeps refreshing in the background.
    await new Promise((r) => setTimeout(r, 700));
    assert.ok(updates.length >= 2, `expected background refreshes, got ${updates.length}`);
  } finally {
    mon.stop();
  }
});

test('snapshot() answers at once before start, from node:os', () => {
  const mon = new SystemMonitor();
  const t0 = performance.now();
  const s = mon.snapshot();
  assert.ok(performance.now() - t0 < 20);
  assert.ok(s.memory.totalBytes > 0);
  assert.deepEqual(s.gpus, []);
});

test('GPU controllers: VRAM in MB becomes bytes; memoryTotal/Free preferred over vram', () => {
  const base = { vendor: 'NVIDIA', model: 'RTX 4090', bus: 'PCI', vram: 24_000, vramDynamic: false };
  const g = toGpu({ ...base, memoryTotal: 24_564, memoryFree: 20_000 });
  assert.deepEqual(g, {
    vendor: 'NVIDIA',
    model: 'RTX 4090',
    vramTotalBytes: 24_564 * 1024 * 1024,
    vramFreeBytes: 20_000 * 1024 * 1024,
  });
  const igpu = toGpu({ ...base, vendor: '', model: 'Intel UHD', vram: null, vramDynamic: true });
  assert.deepEqual(igpu, { vendor: 'unknown', model: 'Intel UHD' });
  assert.equal(
    freeVramBytes({
      platform: 'linux',
      cpu: { brand: 'x', cores: 1, loadPercent: 0 },
      memory: { totalBytes: 1, availableBytes: 1 },
      gpus: [igpu, g],
    }),
    20_000 * 1024 * 1024,
  );
  assert.equal(
    freeVramBytes({
      platform: 'linux',
      cpu: { brand: 'x', cores: 1, loadPercent: 0 },
      memory: { totalBytes: 1, availableBytes: 1 },
      gpus: [],
    }),
    undefined,
  );
});
