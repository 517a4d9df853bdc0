// Messages between the daemon and its GGUF reader process (ggufWorker.ts); internal, not public API.
import type { GgufDescription } from '../discovery/ggufMeta';

export interface GgufFileRef {
  path: string;
  sizeBytes: number;
  baseName: string;
}

export type GgufJob =
  /** The scan's view of a file: usable or not, labels, capabilities. */
  | { type: 'describe'; file: GgufFileRef }
  /** What the fit search needs: layer count and trained context. */
  | { type: 'insights'; path: string }
  /** node-llama-cpp's RAM/VRAM estimate for the model plus a context. */
  | { type: 'estimate'; path: string; contextSize: number; gpuLayers: number };

export interface GgufInsightsSummary {
  totalLayers: number;
  trainContextSize?: number;
}

export interface GgufEstimate {
  ramBytes: number;
  vramBytes: number;
}

export interface GgufJobResults {
  describe: GgufDescription;
  insights: GgufInsightsSummary;
  estimate: GgufEstimate;
}

export type ToGgufWorker = GgufJob & { id: number };

export type FromGgufWorker =
  /** The worker is about to touch the file: a crash or hang from here on is the file's doing. */
  | { type: 'reading'; id: number }
  | { type: 'result'; id: number; value: GgufJobResults[GgufJob['type']] }
  | { type: 'error'; id: number; message: string; code?: string };
