// Local model discovery: find GGUF files in the configured folders and the places other tools
// keep models, read their metadata with node-llama-cpp's GGUF reader, and say plainly why a
// file cannot be used. One bad file never fails the scan, nor the daemon: headers are checked in
// JavaScript first and node-llama-cpp reads them in a child process (server/native/ggufReader.ts).
import * as os from 'node:os';
import * as path from 'node:path';
import type { Logger } from '../core/types';
import { sharedGgufReader } from '../native/ggufReader';
import { discoveredModelId } from './discoveredId';
import { findGgufFiles, type GgufFile } from './findGguf';
import { incompatibleGguf, type GgufDescription } from './ggufMeta';
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

export interface LocalModelEntry extends GgufDescription {
  /** The provider id and the file name without .gguf, as a model id. */
  id: string;
  name: string;
  path: string;
  sizeBytes: number;
  mtimeMs: number;
}

/** Files whose headers are checked in parallel (the reader process then takes them one by one). */
const SCAN_CONCURRENCY = 4;
/** Smaller than a GGUF header (magic, version, counts): cannot be a model. */
const MIN_GGUF_BYTES = 24;
const METADATA_CACHE_MAX = 512;

/** The environment variables other tools read for their caches (a subset of process.env). */
export type CacheEnv = Readonly<Record<string, string | undefined>>;

/**
 * The folders where LM Studio, Hugging Face, node-llama-cpp and llama.cpp keep models; each can be
 * turned off. The tools' own environment variables move their caches, and are honoured as they do:
 * Hugging Face HF_HUB_CACHE (or the older HUGGINGFACE_HUB_CACHE), else HF_HOME/hub, else
 * XDG_CACHE_HOME/huggingface/hub; llama.cpp LLAMA_CACHE, else XDG_CACHE_HOME/llama.cpp. An empty
 * variable counts as unset.
 */
export function wellKnownDirs(homeDir: string, scan: LocalScanOptions['scan'], env: CacheEnv = process.env): string[] {
  const on = (k: keyof NonNullable<LocalScanOptions['scan']>) => scan?.[k] !== false;
  const v = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined);
  const cacheHome = v('XDG_CACHE_HOME') ?? path.join(homeDir, '.cache');
  const dirs: string[] = [];
  if (on('lmStudio'))
    dirs.push(path.join(homeDir, '.lmstudio', 'models'), path.join(homeDir, '.cache', 'lm-studio', 'models'));
  if (on('huggingFace')) {
    const hfHome = v('HF_HOME');
    dirs.push(
      v('HF_HUB_CACHE') ??
        v('HUGGINGFACE_HUB_CACHE') ??
        (hfHome ? path.join(hfHome, 'hub') : path.join(cacheHome, 'huggingface', 'hub')),
    );
  }
  if (on('nodeLlamaCpp')) dirs.push(path.join(homeDir, '.node-llama-cpp', 'models'));
  if (on('llamaCpp')) {
    dirs.push(v('LLAMA_CACHE') ?? path.join(cacheHome, 'llama.cpp'));
    if (process.platform === 'darwin') dirs.push(path.join(homeDir, 'Library', 'Caches', 'llama.cpp'));
  }
  // Hugging Face expands "~" in its variables itself; so do we.
  return dirs.map((d) => (d === '~' ? homeDir : d.startsWith('~/') ? path.join(homeDir, d.slice(2)) : d));
}

type Described = GgufDescription;
// Keyed by resolved path + size + mtime, so an unchanged file is not re-read on every rescan.
const metadataCache = new LRUCache<string, Described>({ max: METADATA_CACHE_MAX });

/**
 * All local models. Order: configured folders first, then well-known ones; within a folder by path.
 * Two files with the same id (same file name in two folders): a usable file beats an unusable one,
 * then the earlier folder wins, so the result does not depend on timing.
 */
export async function scanLocalModels(opts: LocalScanOptions): Promise<LocalModelEntry[]> {
  const providerId = opts.providerId ?? 'local';
  const logger = opts.logger;
  if (logger) sharedGgufReader().setWarn((m) => logger.warn(m));
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
  // A file whose metadata read fine may still have crashed or hung the reader since (fit estimates).
  const crashed = await sharedGgufReader().quarantined(f.path);
  if (crashed) return incompatibleGguf(crashed);
  const hit = metadataCache.get(key);
  if (hit) return hit;
  let d: Described;
  try {
    d = await describeGgufFile(f.path, f.sizeBytes, f.baseName);
  } catch (e) {
    // A reader bug on one odd file must not hide every other model; not cached, so a fix applies.
    return incompatibleGguf(`unreadable GGUF metadata: ${errorMessage(e)}`);
  }
  metadataCache.set(key, d);
  return d;
}

/**
 * Read one file's metadata; every problem with the file becomes `ok: false` with a reason, never an
 * exception. Rejects only when the reader cannot run at all (node-llama-cpp missing).
 */
export async function describeGgufFile(filePath: string, sizeBytes: number, baseName: string): Promise<Described> {
  if (sizeBytes < MIN_GGUF_BYTES) return incompatibleGguf(`not a GGUF file (only ${sizeBytes} bytes)`);
  return sharedGgufReader().describe(filePath, baseName);
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
