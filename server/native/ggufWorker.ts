// The GGUF reader process: every native read of a GGUF header (discovery metadata, GgufInsights
// memory estimates) runs here, never in the daemon. A file that makes node-llama-cpp abort the
// process (a bit flip in a length field ends in a native assertion) or hang costs this process,
// which the daemon (ggufReader.ts) notices, blames on that file and replaces.
// One job at a time; before touching a file it says `reading`, so the daemon can tell a crash
// caused by the file from a failure to start.
import fs from 'node:fs';
import type { GgufInsights } from 'node-llama-cpp';
import { LRUCache } from 'lru-cache';
import { describeGgufInfo, incompatibleGguf, readFailureReason, type GgufTypeNames } from '../discovery/ggufMeta';
import { getSharedLlama, loadLlamaModule, type LlamaModule } from './llama';
import type { FromGgufWorker, GgufJobResults, ToGgufWorker } from './ggufWorkerProtocol';

/** node-llama-cpp's own guard against a stalled read (the daemon also kills a hung worker). */
const READ_TIMEOUT_MS = 15_000;
const INSIGHTS_CACHE_MAX = 16;

const insightsCache = new LRUCache<string, GgufInsights>({ max: INSIGHTS_CACHE_MAX });

function send(m: FromGgufWorker): void {
  process.send?.(m);
}

function readInfo(mod: LlamaModule, path: string) {
  return mod.readGgufFileInfo(path, {
    logWarnings: false,
    sourceType: 'filesystem',
    signal: AbortSignal.timeout(READ_TIMEOUT_MS),
  });
}

async function insightsFor(id: number, path: string): Promise<GgufInsights> {
  const mod = await loadLlamaModule();
  // The backend first (not the file's doing if it fails): estimates depend on it.
  const llama = await getSharedLlama();
  send({ type: 'reading', id });
  const st = await fs.promises.stat(path);
  const key = `${path}\0${st.size}\0${st.mtimeMs}`;
  const hit = insightsCache.get(key);
  if (hit) return hit;
  const insights = await mod.GgufInsights.from(await readInfo(mod, path), llama);
  insightsCache.set(key, insights);
  return insights;
}

async function run(m: ToGgufWorker): Promise<GgufJobResults[ToGgufWorker['type']]> {
  switch (m.type) {
    case 'describe': {
      const mod = await loadLlamaModule();
      const names: GgufTypeNames = {
        fileType: mod.GgufFileType as unknown as GgufTypeNames['fileType'],
        ggmlType: mod.GgmlType as unknown as GgufTypeNames['ggmlType'],
      };
      send({ type: 'reading', id: m.id });
      let info: Awaited<ReturnType<typeof readInfo>>;
      try {
        info = await readInfo(mod, m.file.path);
      } catch (e) {
        return incompatibleGguf(readFailureReason(e));
      }
      return describeGgufInfo(info, m.file, names);
    }
    case 'insights': {
      const insights = await insightsFor(m.id, m.path);
      return {
        totalLayers: insights.totalLayers,
        ...(insights.trainContextSize !== undefined ? { trainContextSize: insights.trainContextSize } : {}),
      };
    }
    case 'estimate': {
      const insights = await insightsFor(m.id, m.path);
      const gpuLayers = Math.max(0, Math.min(m.gpuLayers, insights.totalLayers));
      // The V2 estimators simulate llama.cpp's allocations (fit.test.ts measures them against a load).
      const model = await insights.estimateModelResourceRequirementsV2({ gpuLayers });
      const context = await insights.estimateContextResourceRequirementsV2({
        contextSize: m.contextSize,
        modelGpuLayers: gpuLayers,
      });
      return { ramBytes: model.cpuRam + context.cpuRam, vramBytes: model.gpuVram + context.gpuVram };
    }
  }
}

// The daemon went away (exit, crash, kill -9): so does this process.
process.on('disconnect', () => process.exit(0));
process.on('message', (m: ToGgufWorker) => {
  run(m).then(
    (value) => send({ type: 'result', id: m.id, value }),
    (e: unknown) => {
      const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
      send({
        type: 'error',
        id: m.id,
        message: e instanceof Error ? e.message : String(e),
        ...(typeof code === 'string' ? { code } : {}),
      });
    },
  );
});
