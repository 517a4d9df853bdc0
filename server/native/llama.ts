// One lazily created node-llama-cpp instance per process.
// node-llama-cpp is ESM-only and native: it is loaded with `await import()` on first use so a
// process starts without it, and it stays external to the bundle. The daemon itself does not call
// it: GGUF reading and fit estimates run in the GGUF reader process (ggufWorker.ts, which uses this
// module), inference in the local worker. Within a process everything shares ONE `Llama`, because
// each instance loads the native backend and its thread pool.
import type { Llama, LlamaLogLevel } from 'node-llama-cpp';

export type LlamaModule = typeof import('node-llama-cpp');

export interface SharedLlamaOptions {
  /** Use a GPU backend if the prebuilt binaries offer one; false forces the CPU. */
  gpu?: boolean;
  /** Upper bound for llama.cpp's thread pool; set it to the physical core count. */
  maxThreads?: number;
}

/** Receives every native llama.cpp log line (load failures explain themselves only here). */
export type LlamaLogListener = (level: LlamaLogLevel, message: string) => void;

let modulePromise: Promise<LlamaModule> | undefined;
let llamaPromise: Promise<Llama> | undefined;
let llamaOptions: SharedLlamaOptions | undefined;
const logListeners = new Set<LlamaLogListener>();

/** Import node-llama-cpp once. A failed import is not cached, so a later call can retry. */
export function loadLlamaModule(): Promise<LlamaModule> {
  modulePromise ??= import('node-llama-cpp').catch((e: unknown) => {
    modulePromise = undefined;
    throw new Error(
      `node-llama-cpp could not be loaded (${errorMessage(e)}); local models are unavailable. Reinstall the extension or run \`npm install node-llama-cpp\`.`,
      { cause: e },
    );
  });
  return modulePromise;
}

/**
 * The daemon's single `Llama`. The first caller's options win; later callers get the same
 * instance whatever they ask for (see `sharedLlamaOptions()` to tell what was used).
 * `build: 'never'` keeps node-llama-cpp from ever downloading or compiling llama.cpp: only the
 * prebuilt binaries installed from npm are used, and their absence is an error, not a build.
 */
export function getSharedLlama(opts: SharedLlamaOptions = {}): Promise<Llama> {
  if (!llamaPromise) {
    llamaOptions = { ...opts };
    llamaPromise = (async () => {
      const mod = await loadLlamaModule();
      return mod.getLlama({
        gpu: opts.gpu ? 'auto' : false,
        ...(opts.maxThreads !== undefined ? { maxThreads: opts.maxThreads } : {}),
        build: 'never',
        progressLogs: false,
        // The default logger prints to stdout, which is the JSON-RPC channel under stdio.
        logger: (level, message) => {
          for (const listener of logListeners) listener(level, message);
        },
      });
    })().catch((e: unknown) => {
      llamaPromise = undefined;
      llamaOptions = undefined;
      throw new Error(
        `llama.cpp could not start (${errorMessage(e)}); no prebuilt binary matches this machine and building from source is disabled.`,
        { cause: e },
      );
    });
  }
  return llamaPromise;
}

/** The options the shared instance was created with, or undefined before the first call. */
export function sharedLlamaOptions(): SharedLlamaOptions | undefined {
  return llamaOptions === undefined ? undefined : { ...llamaOptions };
}

/** Subscribe to native log lines; returns the unsubscribe function. */
export function onLlamaLog(listener: LlamaLogListener): () => void {
  logListeners.add(listener);
  return () => {
    logListeners.delete(listener);
  };
}

/** Release the native backend (daemon shutdown, tests). The next getSharedLlama starts afresh. */
export async function disposeSharedLlama(): Promise<void> {
  const pending = llamaPromise;
  llamaPromise = undefined;
  llamaOptions = undefined;
  if (!pending) return;
  const llama = await pending.catch(() => undefined);
  await llama?.dispose();
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
