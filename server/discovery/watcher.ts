// Tell the daemon when model files appear, disappear or change.
// fs.watch gives fast notice but is unreliable across platforms (no recursion on some Linux
// node versions, network mounts, folders that do not exist yet), so a cheap periodic listing
// backs it up. Both paths only *schedule a check*; the check compares a fingerprint of the
// model files, so onChange fires once per real change, never for unrelated files.
import { watch, type FSWatcher } from 'node:fs';
import { ggufSignature } from './findGguf';

/** Coalesce the burst of events a copy produces into one check. */
export const WATCH_DEBOUNCE_MS = 250;
/** The fallback listing of folders fs.watch cannot cover (missing, no recursion): "within 2 s". */
export const WATCH_POLL_MS = 1_000;
/** A full listing of every folder, as a safety net behind fs.watch. Walking a large Hugging Face
 *  cache every second would cost real CPU on a small machine, so watched folders get this pace. */
export const WATCH_FULL_POLL_MS = 15_000;

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
  private readonly signatures = new Map<string, string>();
  private readonly watched = new Set<string>();
  private fullTimer: ReturnType<typeof setInterval> | undefined;
  private pending: string[] | undefined;
  private checking = false;
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
    void this.check(this.dirs, true);
    for (const dir of this.dirs) this.watchDir(dir);
    this.pollTimer = setInterval(() => {
      const unwatched = this.dirs.filter((d) => !this.watched.has(d));
      for (const d of unwatched) this.watchDir(d); // a folder created since: watch it from now on
      if (unwatched.length) void this.check(unwatched, false);
    }, this.pollMs);
    this.pollTimer.unref();
    this.fullTimer = setInterval(() => void this.check(this.dirs, false), Math.max(this.pollMs, WATCH_FULL_POLL_MS));
    this.fullTimer.unref();
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.fullTimer) clearInterval(this.fullTimer);
    this.fullTimer = undefined;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.pollTimer = undefined;
    this.debounceTimer = undefined;
  }

  private watchDir(dir: string): void {
    if (this.watched.has(dir)) return;
    const onEvent = () => this.schedule();
    let w: FSWatcher | undefined;
    let recursive = true;
    try {
      w = watch(dir, { recursive: true, persistent: false }, onEvent);
    } catch (e) {
      // Missing folder: the fast poll notices when it is created. No recursion here: watch the top level.
      if ((e as { code?: unknown }).code === 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM') {
        recursive = false;
        try {
          w = watch(dir, { persistent: false }, onEvent);
        } catch {
          w = undefined;
        }
      }
    }
    if (!w) return;
    // A watched folder that is deleted emits an error; the fast poll covers it again.
    w.on('error', () => {
      w?.close();
      this.watched.delete(dir);
    });
    this.watchers.push(w);
    // Only a recursive watch covers the whole tree; a top-level one leaves it to the fast poll.
    if (recursive) this.watched.add(dir);
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      void this.check(this.dirs, false);
    }, this.debounceMs);
    this.debounceTimer.unref();
  }

  /** Compare the model files of `dirs` with what was seen before; onChange once if any differ. */
  private async check(dirs: readonly string[], baseline: boolean): Promise<void> {
    if (this.checking) {
      this.pending = [...new Set([...(this.pending ?? []), ...dirs])];
      return;
    }
    this.checking = true;
    try {
      let changed = false;
      for (const dir of dirs) {
        const sig = await ggufSignature([dir]);
        if (this.closed) return;
        const prev = this.signatures.get(dir);
        if (!baseline && prev !== undefined && sig !== prev) changed = true;
        this.signatures.set(dir, sig);
      }
      if (changed) this.onChange();
    } catch {
      // Listing failed (folder vanished mid-walk): the next poll tries again.
    } finally {
      this.checking = false;
      const next = this.pending;
      this.pending = undefined;
      if (next && !this.closed) void this.check(next, false);
    }
  }
}
