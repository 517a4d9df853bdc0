// monitorVram: free memory (RAM and VRAM) against what the chain's local models need, from the
// system snapshots the daemon samples anyway. Entering and leaving "pressure" are transitions the
// daemon logs and shows as its top recommendation. Pure: snapshots and the clock come in.
import { fmtGb } from './scoring';
import type { SystemSnapshot } from '../../protocol/types';

/** What one local model needs to load and answer (its fit estimate: RAM + VRAM). */
export interface MemoryNeed {
  model: string;
  bytes: number;
}

export interface MemoryPressure {
  /** The model that needs the most and does not fit in what is free. */
  model: string;
  needBytes: number;
  freeBytes: number;
  ramFreeBytes: number;
  /** Free VRAM summed over the GPUs that report it; absent without such a GPU. */
  vramFreeBytes?: number;
  /** A sentence for the log and the health recommendations. */
  message: string;
}

/** Free memory now: available RAM plus the free VRAM of every GPU that reports it. */
export function freeMemory(s: SystemSnapshot): { total: number; ram: number; vram?: number } {
  const reporting = s.gpus.filter((g) => g.vramFreeBytes !== undefined);
  const vram = reporting.length ? reporting.reduce((n, g) => n + (g.vramFreeBytes ?? 0), 0) : undefined;
  const ram = s.memory.availableBytes;
  return { total: ram + (vram ?? 0), ram, ...(vram !== undefined ? { vram } : {}) };
}

/**
 * The pressure, if any: the largest need that exceeds the free memory (capped by `budgetBytes`, a
 * provider's memoryBudgetBytes). Undefined when every need fits.
 */
export function memoryPressure(
  s: SystemSnapshot,
  needs: readonly MemoryNeed[],
  budgetBytes = Number.POSITIVE_INFINITY,
): MemoryPressure | undefined {
  const free = freeMemory(s);
  const usable = Math.min(free.total, budgetBytes);
  const short = needs
    .filter((n) => n.bytes > usable)
    .sort((a, b) => b.bytes - a.bytes || a.model.localeCompare(b.model));
  const worst = short[0];
  if (!worst) return undefined;
  const parts = free.vram !== undefined ? ` (RAM ${fmtGb(free.ram)} + VRAM ${fmtGb(free.vram)})` : '';
  const capped = usable < free.total ? `, ${fmtGb(usable)} within memoryBudgetBytes` : '';
  return {
    model: worst.model,
    needBytes: worst.bytes,
    freeBytes: usable,
    ramFreeBytes: free.ram,
    ...(free.vram !== undefined ? { vramFreeBytes: free.vram } : {}),
    message:
      `Memory is low: ${fmtGb(free.total)} free${parts}${capped}, but ${worst.model} needs ${fmtGb(worst.bytes)}` +
      `${short.length > 1 ? ` (and ${short.length - 1} more local model${short.length > 2 ? 's' : ''} do not fit)` : ''}: ` +
      'it is refused until memory frees up; close other programs, or use a smaller context or quantization.',
  };
}

/** Tracks pressure across samples and reports transitions only (one warning, not one per sample). */
export class MemoryWatch {
  private current: MemoryPressure | undefined;

  /** Feed a sample; returns 'entered' / 'left' on a transition (or a new worst model), else undefined. */
  update(next: MemoryPressure | undefined): 'entered' | 'left' | undefined {
    const before = this.current;
    this.current = next;
    if (next && (!before || before.model !== next.model)) return 'entered';
    if (!next && before) return 'left';
    return undefined;
  }

  pressure(): MemoryPressure | undefined {
    return this.current;
  }

  reset(): void {
    this.current = undefined;
  }
}
