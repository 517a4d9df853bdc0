// monitorVram (issue 18): free RAM and VRAM against what the chain's local models need; one warning
// on entering pressure, one note on leaving it. GPUs are faked here: this machine has none.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { SystemSnapshot } from '../../protocol/types';
import { freeMemory, memoryPressure, MemoryWatch } from '../../server/core/memoryWatch';
import { fuzzOptions } from '../helpers/fuzz';

const GB = 1024 ** 3;
function snap(ramFree: number, vramFree: (number | undefined)[] = []): SystemSnapshot {
  return {
    platform: 'linux',
    cpu: { brand: 'test', cores: 2, loadPercent: 0 },
    memory: { totalBytes: 32 * GB, availableBytes: ramFree },
    gpus: vramFree.map((v, i) => ({
      vendor: 'NVIDIA',
      model: `gpu${i}`,
      ...(v === undefined ? {} : { vramFreeBytes: v }),
    })),
  };
}

describe('memoryPressure', () => {
  it('none while every local model fits in free RAM + VRAM', () => {
    assert.equal(memoryPressure(snap(4 * GB, [2 * GB]), [{ model: 'local/a', bytes: 5.5 * GB }]), undefined);
  });

  it('free RAM + VRAM below a model’s need: pressure naming the model, the free memory split, and what to do', () => {
    const p = memoryPressure(snap(1 * GB, [0.5 * GB, undefined]), [
      { model: 'local/small', bytes: 0.2 * GB },
      { model: 'local/big', bytes: 6 * GB },
      { model: 'local/mid', bytes: 2 * GB },
    ]);
    assert.ok(p);
    assert.equal(p.model, 'local/big');
    assert.equal(p.freeBytes, 1.5 * GB);
    assert.equal(p.vramFreeBytes, 0.5 * GB);
    assert.match(
      p.message,
      /1\.5 GB free \(RAM 1\.0 GB \+ VRAM 0\.5 GB\), but local\/big needs 6\.0 GB \(and 1 more local model do not fit\)/,
    );
    assert.match(p.message, /refused until memory frees up/);
  });

  it('without a GPU that reports VRAM, only RAM counts and no VRAM is named', () => {
    const p = memoryPressure(snap(1 * GB, [undefined]), [{ model: 'local/a', bytes: 2 * GB }]);
    assert.equal(p?.vramFreeBytes, undefined);
    assert.doesNotMatch(p?.message ?? '', /VRAM/);
  });

  it('a memory budget caps what counts as free', () => {
    const p = memoryPressure(snap(8 * GB), [{ model: 'local/a', bytes: 2 * GB }], 1 * GB);
    assert.match(p?.message ?? '', /1\.0 GB within memoryBudgetBytes/);
  });

  it('property: pressure exactly when some need exceeds min(free RAM + free VRAM, budget)', () => {
    const bytes = fc.integer({ min: 0, max: 64 * GB });
    fc.assert(
      fc.property(
        bytes,
        fc.array(fc.option(bytes, { nil: undefined }), { maxLength: 3 }),
        fc.array(bytes, { maxLength: 4 }),
        fc.option(bytes, { nil: undefined }),
        (ram, vram, needs, budget) => {
          const s = snap(ram, vram);
          const usable = Math.min(freeMemory(s).total, budget ?? Infinity);
          const p = memoryPressure(
            s,
            needs.map((b, i) => ({ model: `local/m${i}`, bytes: b })),
            budget,
          );
          assert.equal(
            p !== undefined,
            needs.some((b) => b > usable),
          );
          if (p) assert.equal(p.needBytes, Math.max(...needs));
        },
      ),
      fuzzOptions(500),
    );
  });
});

describe('MemoryWatch', () => {
  it('reports entering and leaving pressure once each, not on every sample', () => {
    const w = new MemoryWatch();
    const need = [{ model: 'local/a', bytes: 2 * GB }];
    const seen = [8, 1, 1, 0.5, 4, 4].map((ram) => w.update(memoryPressure(snap(ram * GB), need)));
    assert.deepEqual(seen, [undefined, 'entered', undefined, undefined, 'left', undefined]);
  });
});
