// Store on disk: one JSON file per key in the state dir. Writes never block the request path: a
// write updates memory, marks the key dirty and schedules one coalesced asynchronous atomic write
// (fsync + rename) per key at most every `flushIntervalMs`; `flush()` writes the rest on shutdown.
// A crash loses at most that window and never corrupts a file.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger, Store } from '../core/types';
import { writeFileAtomicAsync, writeFileAtomicSync } from './atomicFile';

const KEY_RE = /^[a-z0-9][a-z0-9_-]*$/i;
/** How long state may live in memory only: what a kill -9 can lose at most. */
export const STORE_FLUSH_INTERVAL_MS = 1000;

export interface FileStoreOptions {
  logger?: Logger;
  flushIntervalMs?: number;
}

export class FileStore implements Store {
  private readonly cache = new Map<string, unknown>();
  private readonly dirty = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly logger: Logger | undefined;
  private readonly flushIntervalMs: number;

  constructor(
    private readonly dir: string,
    opts: FileStoreOptions | Logger = {},
  ) {
    const o: FileStoreOptions = 'info' in opts ? { logger: opts } : opts;
    this.logger = o.logger;
    this.flushIntervalMs = o.flushIntervalMs ?? STORE_FLUSH_INTERVAL_MS;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Keys already checked and their files: a write per answered request asks (issue 21). */
  private readonly files = new Map<string, string>();

  private file(key: string): string {
    let f = this.files.get(key);
    if (f === undefined) {
      if (!KEY_RE.test(key)) throw new Error(`invalid store key "${key}"`);
      f = path.join(this.dir, `${key}.json`);
      this.files.set(key, f);
    }
    return f;
  }

  read<T>(key: string): T | undefined {
    if (this.cache.has(key)) return this.cache.get(key) as T;
    try {
      const v = JSON.parse(fs.readFileSync(this.file(key), 'utf8')) as T;
      this.cache.set(key, v);
      return v;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.logger?.warn(`state file ${key}.json unreadable, starting fresh: ${(e as Error).message}`);
      return undefined;
    }
  }

  write(key: string, value: unknown): void {
    this.file(key); // a bad key is a programming error: say so now, not at flush time
    this.cache.set(key, value);
    this.dirty.add(key);
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flushAsync();
      }, this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Write every dirty key now, asynchronously; writes of one store never overlap. */
  flushAsync(): Promise<void> {
    const keys = this.takeDirty();
    if (!keys.length) return this.writing;
    this.writing = this.writing.then(async () => {
      for (const [key, text] of keys) {
        try {
          await writeFileAtomicAsync(this.file(key), text);
        } catch (e) {
          this.logger?.warn(`could not persist ${key}: ${(e as Error).message}`);
        }
      }
    });
    return this.writing;
  }

  /** Write every dirty key now and wait (shutdown). Synchronous so that an exit right after loses nothing. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const [key, text] of this.takeDirty()) {
      try {
        writeFileAtomicSync(this.file(key), text);
      } catch (e) {
        this.logger?.warn(`could not persist ${key}: ${(e as Error).message}`);
      }
    }
  }

  private takeDirty(): [string, string][] {
    const out: [string, string][] = [];
    for (const key of this.dirty) out.push([key, JSON.stringify(this.cache.get(key), null, 1)]);
    this.dirty.clear();
    return out;
  }
}

/** In-memory Store (tests, --no-state). */
export class MemoryStore implements Store {
  private m = new Map<string, string>();
  read<T>(key: string): T | undefined {
    const v = this.m.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }
  write(key: string, value: unknown): void {
    this.m.set(key, JSON.stringify(value));
  }
}
