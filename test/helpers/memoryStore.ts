// A Store in memory that round-trips through JSON, as the file store does.
import type { Store } from '../../server/core/types';

export class MemoryStore implements Store {
  readonly data = new Map<string, string>();
  read<T>(key: string): T | undefined {
    const v = this.data.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }
  write(key: string, value: unknown): void {
    this.data.set(key, JSON.stringify(value));
  }
}
