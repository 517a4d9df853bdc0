// Tell the daemon when model files appear, disappear or change.
// fs.watch gives fast notice but is unreliable across platforms (no recursion on some Linux
// node versions, network mounts, folders that do not exist yet), so a cheap periodic listing
// backs it up. Both paths only *schedule a check*; the check compares a fingerprint of the
// model files, so onChange fires once per real change, never for unrelated files.
import { watch, type FSWatcher } from 'node:fs';
import { ggufSignature } from './findGguf';

/** Coalesce the burst of events a copy produces into one check. */
export const WATCH_DEBOUNCE_MS = 250;
/** The fallback listing; with the debounce this keeps "a new file shows within 2 s". */
export const WATCH_POLL_MS = 1_000;

export interface ModelWatcherOptions {
  debounceMs?: number;
  pollMs?: number;
}

export class ModelWatcher {
  private readonly debounceMs: number;
  private readonly pollMs: number;
  private watchers: FSWatcher[] = [];
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private debounceTimer: ReturnType<typeof setTimeout> | undefined;
  private lastSignature: string | undefined;
  private checking = false;
  private recheck = false;
  private closed = false;

  constructor(
    private readonly dirs: string[],
    private readonly onChange: () => void,
    opts: ModelWatcherOptions = {},
  ) {
    this.debounceMs = opts.debounceMs ?? WATCH_DEBOUNCE_MS;
    this.pollMs = opts.pollMs ?? WATCH_POLL_MS;
  }

  start(): void {
    if (this.pollTimer || this.closed) return;
    // The baseline: files present at start are not a change.
    void this.check(true);
    for (const dir of this.dirs) this.watchDir(dir);
    this.pollTimer = setInterval(() => void this.check(false), this.pollMs);
    this.pollTimer.unref();
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.pollTimer = undefined;
    this.debounceTimer = undefined;
  }

  private watchDir(dir: string): void {
    const onEvent = () => this.schedule();
    let w: FSWatcher | undefined;
    try {
      w = watch(dir, { recursive: true, persistent: false }, onEvent);
    } catch (e) {
      // Missing folder: the poll notices when it is created. No recursion here: watch the top level.
      if ((e as { code?: unknown }).code === 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM') {
        try {
          w = watch(dir, { persistent: false }, onEvent);
        } catch {
          w = undefined;
        }
      }
    }
    if (!w) return;
    // A watched folder that is deleted emits an error; the poll still covers it.
    w.on('error', () => w?.close());
    this.watchers.push(w);
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      void this.check(false);
    }, this.debounceMs);
    this.debounceTimer.unref();
  }

  private async check(baseline: boolean): Promise<void> {
    if (this.checking) {
      this.recheck = true;
      return;
    }
    this.checking = true;
    try {
      const sig = await ggufSignature(this.dirs);
      if (this.closed) return;
      const changed = !baseline && this.lastSignature !== undefined && sig !== this.lastSignature;
      this.lastSignature = sig;
      if (changed) this.onChange();
    } catch {
      // Listing failed (folder vanished mid-walk): the next poll tries again.
    } finally {
      this.checking = false;
      if (this.recheck && !this.closed) {
        this.recheck = false;
        void this.check(false);
      }
    }
  }
}
