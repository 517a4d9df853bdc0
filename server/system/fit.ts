// Will this model run here? node-llama-cpp's GgufInsights estimates the RAM and VRAM a model and
// its context need from the GGUF header alone (no load); we compare that with what is free.
// The estimates are computed in the GGUF reader process (server/native/ggufReader.ts), so a corrupt
// file can fail its estimate but never the daemon.
// The error of the RAM estimate against a real load is measured in test/integration/fit.test.ts.
import type { ModelFit } from '../../protocol/types';
import { sharedGgufReader } from '../native/ggufReader';

/** What the OS, the editor and everything else keep using while the model runs. */
export const DEFAULT_HEADROOM_BYTES = 512 * 1024 * 1024;
/** Context used when none is configured: a model's full trained context (often 128K) would never fit. */
export const DEFAULT_CONTEXT_SIZE = 4096;

export interface FitOptions {
  contextSize?: number;
  freeRamBytes: number;
  freeVramBytes?: number;
  gpu: boolean;
  headroomBytes?: number;
}

/** The configured context, else DEFAULT_CONTEXT_SIZE, never beyond what the model was trained for. */
export function resolveContextSize(requested: number | undefined, trainContextSize: number | undefined): number {
  if (requested !== undefined) return requested;
  return trainContextSize !== undefined && trainContextSize > 0
    ? Math.min(DEFAULT_CONTEXT_SIZE, trainContextSize)
    : DEFAULT_CONTEXT_SIZE;
}

function checkContextSize(contextSize: number): void {
  if (!Number.isInteger(contextSize) || contextSize <= 0)
    throw new RangeError(`contextSize must be a positive integer, got ${contextSize}`);
}

/**
 * RAM and VRAM for the model plus a context of `contextSize` with `gpuLayers` offloaded.
 * Rejects when the file cannot be read: ENOENT when it is missing, GgufUnusableError when its header
 * is corrupt or it crashed or hung the reader.
 */
export async function estimateResources(
  modelPath: string,
  opts: { contextSize: number; gpuLayers: number },
): Promise<{ ramBytes: number; vramBytes: number }> {
  checkContextSize(opts.contextSize);
  return sharedGgufReader().estimate(modelPath, opts.contextSize, Math.max(0, opts.gpuLayers));
}

/**
 * The most GPU layers whose VRAM (plus headroom) fits in what is free (0 without a GPU or with
 * unknown free VRAM), then whether the rest fits in free RAM with headroom.
 * Rejects when the file cannot be read (missing, not GGUF): callers show that as incompatible.
 */
export async function estimateFit(modelPath: string, opts: FitOptions): Promise<ModelFit & { contextSize: number }> {
  const reader = sharedGgufReader();
  const insights = await reader.insights(modelPath);
  const contextSize = resolveContextSize(opts.contextSize, insights.trainContextSize);
  checkContextSize(contextSize);
  const estimate = (gpuLayers: number) => reader.estimate(modelPath, contextSize, gpuLayers);
  const headroom = opts.headroomBytes ?? DEFAULT_HEADROOM_BYTES;
  let gpuLayers = 0;
  if (opts.gpu && opts.freeVramBytes !== undefined && opts.freeVramBytes > headroom) {
    const budget = opts.freeVramBytes - headroom;
    // VRAM grows with each layer: take the largest count under budget (binary search; ≤ ~130 layers).
    let lo = 0;
    let hi = insights.totalLayers;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if ((await estimate(mid)).vramBytes <= budget) lo = mid;
      else hi = mid - 1;
    }
    gpuLayers = lo;
  }
  const { ramBytes, vramBytes } = await estimate(gpuLayers);
  return {
    fits: ramBytes + headroom <= opts.freeRamBytes,
    gpuLayers,
    estimatedRamBytes: ramBytes,
    estimatedVramBytes: vramBytes,
    contextSize,
  };
}
