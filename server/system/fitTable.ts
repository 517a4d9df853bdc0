// Memory estimates per local model at a ladder of context sizes, computed in the background with
// node-llama-cpp's GgufInsights so the pure planner and the health score can ask synchronously
// "does local/x fit at ctx N?" without touching the disk on a request path.
import type { Logger } from '../core/types';
import type { LocalModelEntry } from '../discovery/localScan';
import { estimateResources } from './fit';

/** The ladder: powers of two from MIN up to the model's trained context (capped). */
export const FIT_TABLE_MIN_CONTEXT = 128;
export const FIT_TABLE_MAX_CONTEXT = 131_072;

interface Row {
  contextSize: number;
  ramBytes: number;
  vramBytes: number;
}

export class FitTable {
  private rows = new Map<string, Row[]>();
  private keys = new Map<string, string>();
  private running: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /** Recompute for models whose file changed; keeps the rest. Never throws. */
  refresh(entries: LocalModelEntry[]): Promise<void> {
    const run = async () => {
      for (const e of entries) {
        if (!e.ok) continue;
        const key = `${e.path}:${e.sizeBytes}:${e.mtimeMs}`;
        if (this.keys.get(e.id) === key) continue;
        const top = Math.min(e.contextLength ?? 4096, FIT_TABLE_MAX_CONTEXT);
        const rows: Row[] = [];
        try {
          for (let c = FIT_TABLE_MIN_CONTEXT; c <= top; c *= 2)
            rows.push({ contextSize: c, ...(await estimateResources(e.path, { contextSize: c, gpuLayers: 0 })) });
          if (rows.at(-1)?.contextSize !== top)
            rows.push({ contextSize: top, ...(await estimateResources(e.path, { contextSize: top, gpuLayers: 0 })) });
          this.rows.set(e.id, rows);
          this.keys.set(e.id, key);
        } catch (err) {
          this.logger.debug(`memory estimates for ${e.id} failed: ${(err as Error).message}`);
        }
      }
    };
    this.running = (this.running ?? Promise.resolve()).then(run, run);
    return this.running;
  }

  /** RAM + VRAM the model needs at `contextSize` (the next rung up), or undefined when unknown. */
  estimate(id: string, contextSize: number): { ramBytes: number; vramBytes: number } | undefined {
    const rows = this.rows.get(id);
    if (!rows?.length) return undefined;
    const r = rows.find((x) => x.contextSize >= contextSize) ?? rows[rows.length - 1]!;
    return { ramBytes: r.ramBytes, vramBytes: r.vramBytes };
  }
}
