// Local model discovery: find GGUF files in the configured folders and the places other tools
// keep models, read their metadata with node-llama-cpp's GGUF reader, and say plainly why a
// file cannot be used. One bad file never fails the scan.
import * as os from 'node:os';
import * as path from 'node:path';
import type { Capability } from '../../protocol/types';
import type { Logger } from '../core/types';
import { loadLlamaModule, type LlamaModule } from '../native/llama';
import { discoveredModelId } from './discoveredId';
import { findGgufFiles, type GgufFile } from './findGguf';
import { summarizeGguf, truncationReason, quantizationLabel, metaValue } from './ggufMeta';
import { LRUCache } from 'lru-cache';

export interface LocalScanOptions {
  modelsDirs: string[];
  scan?: { lmStudio?: boolean; huggingFace?: boolean; nodeLlamaCpp?: boolean; llamaCpp?: boolean };
  /** Where the well-known folders live; defaults to the user's home. */
  homeDir?: string;
  /** Prefix of the model ids; default 'local'. */
  providerId?: string;
  /** Told about files whose name cannot make a model id (those are skipped). */
  logger?: Pick<Logger, 'warn'>;
}

export interface LocalModelEntry {
  /** The provider id and the file name without .gguf, as a model id. */
  id: string;
  name: string;
  path: string;
  sizeBytes: number;
  mtimeMs: number;
  ok: boolean;
  /** Why the file cannot be used (ok: false), written for the user. */
  reason?: string;
  architecture?: string;
  /** Size label, e.g. "103M", "7B". */
  parameters?: string;
  parameterCount?: number;
  /** From general.file_type, e.g. "F16", "Q4_K_M". */
  quantization?: string;
  contextLength?: number;
  layers?: number;
  hasChatTemplate: boolean;
  capabilities: Capability[];
  sourceUrl?: string;
}

/** Files read in parallel: metadata reads are small, but a folder can hold hundreds of models. */
const SCAN_CONCURRENCY = 4;
/** A hung network mount must not hold discovery forever. */
const READ_TIMEOUT_MS = 15_000;
/** Smaller than a GGUF header (magic, version, counts): cannot be a model. */
const MIN_GGUF_BYTES = 24;
const METADATA_CACHE_MAX = 512;

/** The folders where LM Studio, Hugging Face, node-llama-cpp and llama.cpp keep models; each can be turned off. */
export function wellKnownDirs(homeDir: string, scan: LocalScanOptions['scan']): string[] {
  const on = (k: keyof NonNullable<LocalScanOptions['scan']>) => scan?.[k] !== false;
  const dirs: string[] = [];
  if (on('lmStudio'))
    dirs.push(path.join(homeDir, '.lmstudio', 'models'), path.join(homeDir, '.cache', 'lm-studio', 'models'));
  if (on('huggingFace')) dirs.push(path.join(homeDir, '.cache', 'huggingface', 'hub'));
  if (on('nodeLlamaCpp')) dirs.push(path.join(homeDir, '.node-llama-cpp', 'models'));
  if (on('llamaCpp')) {
    dirs.push(path.join(homeDir, '.cache', 'llama.cpp'));
    if (process.platform === 'darwin') dirs.push(path.join(homeDir, 'Library', 'Caches', 'llama.cpp'));
  }
  return dirs;
}

type Described = Omit<LocalModelEntry, 'id' | 'name' | 'path' | 'sizeBytes' | 'mtimeMs'>;
// Keyed by resolved path + size + mtime, so an unchanged file is not re-read on every rescan.
const metadataCache = new LRUCache<string, Described>({ max: METADATA_CACHE_MAX });

/**
 * All local models. Order: configured folders first, then well-known ones; within a folder by path.
 * Two files with the same id (same file name in two folders): a usable file beats an unusable one,
 * then the earlier folder wins, so the result does not depend on timing.
 */
export async function scanLocalModels(opts: LocalScanOptions): Promise<LocalModelEntry[]> {
  const providerId = opts.providerId ?? 'local';
  const dirs = [...opts.modelsDirs, ...wellKnownDirs(opts.homeDir ?? os.homedir(), opts.scan)];
  const named = (await findGgufFiles(dirs)).flatMap((f) => {
    const id = discoveredModelId(providerId, f.baseName, (why) => opts.logger?.warn(`${why} (${f.path})`));
    return id === undefined ? [] : [{ f, id }];
  });
  const entries = await mapLimit(named, SCAN_CONCURRENCY, async ({ f, id }): Promise<LocalModelEntry> => ({
    id,
    name: f.baseName,
    path: f.path,
    sizeBytes: f.sizeBytes,
    mtimeMs: f.mtimeMs,
    ...(await describeCached(f)),
  }));
  const byId = new Map<string, LocalModelEntry>();
  for (const e of entries) {
    const prev = byId.get(e.id);
    if (!prev || (!prev.ok && e.ok)) byId.set(e.id, e);
  }
  return entries.filter((e) => byId.get(e.id) === e);
}

async function describeCached(f: GgufFile): Promise<Described> {
  const key = `${f.realPath}\0${f.sizeBytes}\0${f.mtimeMs}`;
  const hit = metadataCache.get(key);
  if (hit) return hit;
  let d: Described;
  try {
    d = await describeGgufFile(f.path, f.sizeBytes, f.baseName);
  } catch (e) {
    // A reader bug on one odd file must not hide every other model; not cached, so a fix applies.
    return incompatible(`unreadable GGUF metadata: ${errorMessage(e)}`);
  }
  metadataCache.set(key, d);
  return d;
}

function incompatible(reason: string): Described {
  return { ok: false, reason, hasChatTemplate: false, capabilities: [] };
}

/** Read one file's metadata; every failure becomes `ok: false` with a reason, never an exception. */
export async function describeGgufFile(filePath: string, sizeBytes: number, baseName: string): Promise<Described> {
  if (sizeBytes < MIN_GGUF_BYTES) return incompatible(`not a GGUF file (only ${sizeBytes} bytes)`);
  // Rejects only when node-llama-cpp itself is missing: describeCached reports that uncached.
  const mod = await loadLlamaModule();
  let info: Awaited<ReturnType<LlamaModule['readGgufFileInfo']>>;
  try {
    info = await mod.readGgufFileInfo(filePath, {
      logWarnings: false,
      sourceType: 'filesystem',
      signal: AbortSignal.timeout(READ_TIMEOUT_MS),
    });
  } catch (e) {
    return incompatible(readFailureReason(e));
  }
  const truncated = truncationReason(info, sizeBytes);
  if (truncated) return incompatible(truncated);
  const summary = summarizeGguf(info, baseName, filePath);
  const quantization = quantizationOf(mod, info);
  const base: Described = {
    ok: true,
    ...(summary.architecture !== undefined ? { architecture: summary.architecture } : {}),
    ...(summary.parameters !== undefined ? { parameters: summary.parameters } : {}),
    ...(summary.parameterCount > 0 ? { parameterCount: summary.parameterCount } : {}),
    ...(quantization !== undefined ? { quantization } : {}),
    ...(summary.contextLength !== undefined ? { contextLength: summary.contextLength } : {}),
    ...(summary.layers !== undefined ? { layers: summary.layers } : {}),
    hasChatTemplate: summary.hasChatTemplate,
    capabilities: summary.capabilities,
    ...(summary.sourceUrl !== undefined ? { sourceUrl: summary.sourceUrl } : {}),
  };
  if (summary.architecture === undefined)
    return { ...base, ok: false, reason: 'GGUF file without general.architecture: not a model llama.cpp can load' };
  if (summary.architecture === 'clip') {
    return {
      ...base,
      ok: false,
      capabilities: [],
      reason: 'a vision projector (mmproj / clip), used alongside a model, not a model on its own',
    };
  }
  return base;
}

function quantizationOf(
  mod: LlamaModule,
  info: { metadata: unknown; tensorInfo?: readonly { ggmlType: number }[] },
): string | undefined {
  const fileType = metaValue(info as Parameters<typeof metaValue>[0], 'general.file_type');
  const fileTypeNames = mod.GgufFileType as unknown as Record<number, string | undefined>;
  if (typeof fileType === 'number') return quantizationLabel(fileTypeNames[fileType]) ?? `file type ${fileType}`;
  // Old converters omit file_type: name the most common tensor type instead.
  const counts = new Map<number, number>();
  for (const t of info.tensorInfo ?? []) counts.set(t.ggmlType, (counts.get(t.ggmlType) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  return top ? (mod.GgmlType as unknown as Record<number, string | undefined>)[top[0]] : undefined;
}

function readFailureReason(e: unknown): string {
  const name = typeof e === 'object' && e !== null ? e.constructor.name : '';
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  const msg = errorMessage(e);
  if (name === 'InvalidGgufMagicError' || /gguf magic/i.test(msg)) return 'not a GGUF file (bad magic)';
  if (code === 'ENOENT') return 'the file disappeared while it was being read';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied: Backstop cannot read this file';
  if (/version/i.test(msg)) return `unsupported GGUF version: ${msg}`;
  if (/out of range|outside|beyond|end of/i.test(msg) || e instanceof RangeError) {
    return `truncated or corrupt GGUF header (${msg}); download the file again`;
  }
  return `unreadable GGUF metadata: ${msg}`;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
