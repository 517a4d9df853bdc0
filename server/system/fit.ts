// Will this model run here? node-llama-cpp's GgufInsights estimates the RAM and VRAM a model and
// its context need from the GGUF header alone (no load); we compare that with what is free.
// The error of the RAM estimate against a real load is measured in test/integration/fit.test.ts.
import { promises as fs } from 'node:fs';
import type { GgufInsights } from 'node-llama-cpp';
import type { ModelFit } from '../../protocol/types';
import { getSharedLlama, loadLlamaModule } from '../native/llama';
import { LRUCache } from 'lru-cache';

/** What the OS, the editor and everything else keep using while the model runs. */
export const DEFAULT_HEADROOM_BYTES = 512 * 1024 * 1024;
/** Context used when none is configured: a model's full trained context (often 128K) would never fit. */
export const DEFAULT_CONTEXT_SIZE = 4096;
const INSIGHTS_CACHE_MAX = 64;

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

const insightsCache = new LRUCache<string, { key: string; insights: GgufInsights }>({ max: INSIGHTS_CACHE_MAX });

async function insightsFor(modelPath: string): Promise<GgufInsights> {
  const st = await fs.stat(modelPath);
  const key = `${st.size}\0${st.mtimeMs}`;
  const hit = insightsCache.get(modelPath);
  if (hit?.key === key) return hit.insights;
  const mod = await loadLlamaModule();
  const info = await mod.readGgufFileInfo(modelPath, { logWarnings: false, sourceType: 'filesystem' });
  // The shared Llama, so the estimate knows the backend the daemon actually uses.
  const insights = await mod.GgufInsights.from(info, await getSharedLlama());
  insightsCache.set(modelPath, { key, insights });
  return insights;
}

/**
 * The V2 estimators simulate llama.cpp's allocations; on the benchmark-size model they were within
 * +7 % of the measured RSS where the older V1 formulas over-estimated by +23 % (fit.test.ts).
 */
async function estimate(
  insights: GgufInsights,
  contextSize: number,
  gpuLayers: number,
): Promise<{ ramBytes: number; vramBytes: number }> {
  const model = await insights.estimateModelResourceRequirementsV2({ gpuLayers });
  const context = await insights.estimateContextResourceRequirementsV2({ contextSize, modelGpuLayers: gpuLayers });
  return { ramBytes: model.cpuRam + context.cpuRam, vramBytes: model.gpuVram + context.gpuVram };
}

function checkContextSize(contextSize: number): void {
  if (!Number.isInteger(contextSize) || contextSize <= 0)
    throw new RangeError(`contextSize must be a positive integer, got ${contextSize}`);
}

/** RAM and VRAM for the model plus a context of `contextSize` with `gpuLayers` offloaded. */
export async function estimateResources(
  modelPath: string,
  opts: { contextSize: number; gpuLayers: number },
): Promise<{ ramBytes: number; vramBytes: number }> {
  checkContextSize(opts.contextSize);
  const insights = await insightsFor(modelPath);
  return estimate(insights, opts.contextSize, Math.max(0, Math.min(opts.gpuLayers, insights.totalLayers)));
}

/**
 * The most GPU layers whose VRAM (plus headroom) fits in what is free (0 without a GPU or with
 * unknown free VRAM), then whether the rest fits in free RAM with headroom.
 * Rejects when the file cannot be read (missing, not GGUF): callers show that as incompatible.
 */
export async function estimateFit(modelPath: string, opts: FitOptions): Promise<ModelFit & { contextSize: number }> {
  const insights = await insightsFor(modelPath);
  const contextSize = resolveContextSize(opts.contextSize, insights.trainContextSize);
  checkContextSize(contextSize);
  const headroom = opts.headroomBytes ?? DEFAULT_HEADROOM_BYTES;
  let gpuLayers = 0;
  if (opts.gpu && opts.freeVramBytes !== undefined && opts.freeVramBytes > headroom) {
    const budget = opts.freeVramBytes - headroom;
    // VRAM grows with each layer: take the largest count under budget (binary search; ≤ ~130 layers).
    let lo = 0;
    let hi = insights.totalLayers;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if ((await estimate(insights, contextSize, mid)).vramBytes <= budget) lo = mid;
      else hi = mid - 1;
    }
    gpuLayers = lo;
  }
  const { ramBytes, vramBytes } = await estimate(insights, contextSize, gpuLayers);
  return {
    fits: ramBytes + headroom <= opts.freeRamBytes,
    gpuLayers,
    estimatedRamBytes: ramBytes,
    estimatedVramBytes: vramBytes,
    contextSize,
  };
}
