// Walk model folders for *.gguf files: recursive, symlink-safe, deterministic order.
// Shared by the scanner (which reads each file's metadata) and the watcher (which only
// compares sizes and times), so both agree on what counts as a model file.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** LM Studio nests publisher/repo/file; the HF cache models--x/snapshots/rev/file: 8 is plenty. */
export const MAX_SCAN_DEPTH = 8;
/** Stop walking a folder tree that is clearly not a model folder (someone configured `~`). */
export const MAX_SCAN_ENTRIES = 50_000;

export interface GgufFile {
  /** The path as found (a symlink in the HF cache), which names the model. */
  path: string;
  /** The resolved path, used to list a file reached twice only once. */
  realPath: string;
  /** File name without the .gguf extension. */
  baseName: string;
  sizeBytes: number;
  mtimeMs: number;
}

/** Parts 2..N of a split model are read through part 1; listing them would show N broken models. */
const SPLIT_PART = /-(\d{5})-of-(\d{5})\.gguf$/i;

export function isGgufFileName(name: string): boolean {
  if (!name.toLowerCase().endsWith('.gguf')) return false;
  const split = SPLIT_PART.exec(name);
  return !split || Number(split[1]) === 1;
}

/**
 * Every model file under `dirs`, in dir order then path order. Missing or unreadable folders are
 * skipped (a well-known folder that does not exist is the normal case). Directory symlinks are
 * followed once: a cycle or two routes to the same folder are walked a single time.
 */
export async function findGgufFiles(dirs: readonly string[]): Promise<GgufFile[]> {
  const files: GgufFile[] = [];
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();
  let budget = MAX_SCAN_ENTRIES;

  const visitFile = async (full: string, name: string): Promise<void> => {
    if (!isGgufFileName(name)) return;
    try {
      const [st, real] = await Promise.all([fs.stat(full), fs.realpath(full)]);
      if (!st.isFile() || seenFiles.has(real)) return;
      seenFiles.add(real);
      files.push({
        path: full,
        realPath: real,
        baseName: name.slice(0, -'.gguf'.length),
        sizeBytes: st.size,
        mtimeMs: st.mtimeMs,
      });
    } catch {
      // Dangling symlink, or removed while we looked: not a model right now.
    }
  };

  const walk = async (dir: string, depth: number): Promise<void> => {
    let real: string;
    try {
      real = await fs.realpath(dir);
    } catch {
      return;
    }
    if (seenDirs.has(real)) return;
    seenDirs.add(real);
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (--budget < 0) return;
      const full = path.join(dir, entry.name);
      let isDir = entry.isDirectory();
      if (entry.isSymbolicLink()) {
        try {
          isDir = (await fs.stat(full)).isDirectory();
        } catch {
          continue;
        }
      }
      if (isDir) {
        // Hidden folders are caches' bookkeeping (.locks, .no_exist), never models.
        if (depth < MAX_SCAN_DEPTH && !entry.name.startsWith('.')) await walk(full, depth + 1);
      } else {
        await visitFile(full, entry.name);
      }
    }
  };

  for (const dir of dirs) await walk(path.resolve(dir), 0);
  return files;
}

/** A cheap fingerprint of the model files: changes when one is added, removed, grown or touched. */
export async function ggufSignature(dirs: readonly string[]): Promise<string> {
  const files = await findGgufFiles(dirs);
  return files.map((f) => `${f.path}\0${f.sizeBytes}\0${f.mtimeMs}`).join('\n');
}
