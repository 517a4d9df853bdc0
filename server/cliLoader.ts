// dist/cli.js: starts the daemon's bundle (dist/daemon.js) with V8's code cache, so a start does not
// compile 2 MB of JavaScript again (that compile was the largest part of a cold start: issue 21).
// Node ≥ 22.1 has its own cache (module.enableCompileCache); on Node 20 the bundle is compiled as
// Node's CommonJS loader would (same wrapper, same require) with cached data kept next to it (the
// bundle then must load packages with require, not import(): see DYNAMIC_IMPORT).
// The cache is only ever an optimisation: any failure falls back to a plain require.
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';

const BUNDLE = path.join(__dirname, 'daemon.js');
/** Beside the bundle: written by whoever can write the bundle, so no one else can plant code in it. */
const CACHE_DIR = path.join(__dirname, '.cache');
const CACHE_FILE = path.join(CACHE_DIR, 'daemon.v8cache');
/** Long-running daemons refresh the cache once, after their first answers compiled the request path. */
const CACHE_WRITE_AFTER_MS = 10_000;
/** esbuild keeps `import("pkg")` of external packages as it is (relative ones are bundled). */
const DYNAMIC_IMPORT = /\bimport\(\s*["'][^"'./]/;

type NodeModule = typeof Module & {
  enableCompileCache?: (dir: string) => unknown;
  wrap(source: string): string;
  _nodeModulePaths(dir: string): string[];
  _resolveFilename(request: string, parent: Module): string;
};
const M = Module as NodeModule;

function start(): void {
  if (typeof M.enableCompileCache === 'function') {
    try {
      M.enableCompileCache(CACHE_DIR);
    } catch {
      // no cache: still start
    }
    module.require(BUNDLE);
    return;
  }
  // The bundle starts with a hashbang line, which only the start of a script may hold: keep it a comment.
  // (Built without one, and pure ASCII: read as one byte per character, with no copy to strip it.)
  const text = fs.readFileSync(BUNDLE, 'latin1');
  const source = text.startsWith('#!') ? `//${text.slice(2)}` : text;
  // Node 20 loses a script's dynamic-import callback when it comes from cached data: a bundle that
  // imports a package with import() starts the plain way (slower, never broken).
  if (DYNAMIC_IMPORT.test(source)) {
    module.require(BUNDLE);
    return;
  }
  // The cached data belongs to this exact bundle on this exact Node: V8 checks only the source length.
  const stat = fs.statSync(BUNDLE);
  const key = Buffer.from(`${process.version} ${process.arch} ${stat.size} ${stat.mtimeMs}\n`);
  let cachedData: Buffer | undefined;
  try {
    const file = fs.readFileSync(CACHE_FILE);
    if (file.subarray(0, key.length).equals(key)) cachedData = file.subarray(key.length);
  } catch {
    // first start
  }
  const script = new vm.Script(M.wrap(source), { filename: BUNDLE, ...(cachedData ? { cachedData } : {}) });
  if (cachedData === undefined || script.cachedDataRejected === true) {
    const save = once(() => writeCache(key, script));
    // A short command exits soon: save at exit. The daemon saves once its request path is compiled.
    process.once('exit', save);
    setTimeout(save, CACHE_WRITE_AFTER_MS).unref();
  }
  const mod = new Module(BUNDLE, module);
  mod.filename = BUNDLE;
  mod.paths = M._nodeModulePaths(__dirname);
  const req = ((id: string) => mod.require(id)) as NodeJS.Require;
  req.resolve = ((request: string) => M._resolveFilename(request, mod)) as NodeJS.RequireResolve;
  req.main = require.main;
  req.cache = require.cache;
  (script.runInThisContext() as (...a: unknown[]) => void).call(mod.exports, mod.exports, req, mod, BUNDLE, __dirname);
}

/**
 * The V8 flag the daemon changes while it runs (server/app/youngGeneration.ts publishes its value here).
 * V8 rejects cached data made under other flag values than its own, so the data is made under the
 * default, as every new process starts: otherwise each start would reject its predecessor's cache.
 */
const GROWTH_FACTOR_KEY = Symbol.for('backstop.v8.semiSpaceGrowthFactor');
const DEFAULT_GROWTH_FACTOR = 2;

function cachedDataUnderDefaultFlags(script: vm.Script): Buffer {
  const current = (globalThis as Record<symbol, unknown>)[GROWTH_FACTOR_KEY];
  const changed = typeof current === 'number' && current !== DEFAULT_GROWTH_FACTOR;
  if (changed) v8.setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
  try {
    return script.createCachedData();
  } finally {
    if (changed) v8.setFlagsFromString(`--semi-space-growth-factor=${current}`);
  }
}

function writeCache(key: Buffer, script: vm.Script): void {
  try {
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = `${CACHE_FILE}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, Buffer.concat([key, cachedDataUnderDefaultFlags(script)]));
    fs.renameSync(tmp, CACHE_FILE);
  } catch {
    // a read-only install: every start compiles, as without the cache
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

start();
