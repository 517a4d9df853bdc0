// Store on disk: one JSON file per key in the state dir, written atomically (temp file + rename),
// so a crash mid-write never leaves a half-written file behind.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger, Store } from '../core/types';

const KEY_RE = /^[a-z0-9][a-z0-9_-]*$/i;

export class FileStore implements Store {
  private cache = new Map<string, unknown>();
  constructor(
    private readonly dir: string,
    private readonly logger?: Logger,
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private file(key: string): string {
    if (!KEY_RE.test(key)) throw new Error(`invalid store key "${key}"`);
    return path.join(this.dir, `${key}.json`);
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
    this.cache.set(key, value);
    const target = this.file(key);
    const tmp = `${target}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, JSON.stringify(value, null, 1), { mode: 0o600 });
      fs.renameSync(tmp, target);
    } catch (e) {
      this.logger?.warn(`could not persist ${key}: ${(e as Error).message}`);
    }
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
