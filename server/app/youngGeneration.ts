// A cap on V8's young generation. Under load V8 doubles the semi-spaces up to 16 MiB each (32 MiB
// resident), and when the old generation never needed a full collection meanwhile nothing ever gives
// them back: a daemon that once served a burst kept ~60 MiB more for the rest of its life (issue 21).
// Capped at 4 MiB each, throughput at 32 concurrent requests measured the same (bench/, interleaved
// runs on this machine), and once the load is over V8's memory reducer returns the daemon to its idle
// size. `--max-semi-space-size` would do this, but only as a flag of the node process, which `backstop
// serve` (run as `node dist/cli.js`) cannot set for itself; the growth factor is read when V8 grows the
// space, so switching it off at the cap and on again below it (after the reducer shrank the space) keeps
// the young generation between the two.
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/**
 * Where the current growth factor is published: V8 rejects a code cache made under other flag values,
 * so the loader (server/cliLoader.ts) makes its cache under the default, and on exit (when Node ≥ 22
 * writes its own compile cache) the default is back.
 */
export const GROWTH_FACTOR_KEY = Symbol.for('backstop.v8.semiSpaceGrowthFactor');

/** Both semi-spaces together: 2 × 4 MiB. */
export const YOUNG_GENERATION_CAP_BYTES = 8 * 1024 * 1024;
const GROWTH_FACTOR = 2; // V8's default

let installed = false;

/** Whether the node process was given a young-generation size of its own (then it is left alone). */
function sizedByUser(): boolean {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return args.some((a) => /^--(max|min)[-_]semi[-_]space[-_]size\b|^--semi[-_]space[-_]growth[-_]factor\b/.test(a));
}

function newSpaceBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/** BACKSTOP_YOUNG_GENERATION_MIB: the cap in MiB (both semi-spaces); 0 leaves V8 to size it alone. */
export function capFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.BACKSTOP_YOUNG_GENERATION_MIB;
  if (raw === undefined || raw.trim() === '') return YOUNG_GENERATION_CAP_BYTES;
  const mib = Number(raw);
  if (!Number.isFinite(mib) || mib < 0) return YOUNG_GENERATION_CAP_BYTES;
  return mib === 0 ? undefined : mib * 1024 * 1024;
}

/** Keep the young generation at or under `capBytes` from now on (once per process). */
export function capYoungGeneration(capBytes = capFromEnv()): void {
  if (installed || capBytes === undefined || sizedByUser()) return;
  installed = true;
  let capped = false;
  const setFactor = (factor: number): void => {
    v8.setFlagsFromString(`--semi-space-growth-factor=${factor}`);
    (globalThis as Record<symbol, unknown>)[GROWTH_FACTOR_KEY] = factor;
  };
  const check = (): void => {
    const atCap = newSpaceBytes() >= capBytes;
    if (atCap === capped) return;
    capped = atCap;
    setFactor(atCap ? 1 : GROWTH_FACTOR);
  };
  check();
  process.once('exit', () => {
    if (capped) setFactor(GROWTH_FACTOR);
  });
  // Growth only happens in a collection: look after each one (the entries arrive just after it).
  new PerformanceObserver(check).observe({ entryTypes: ['gc'] });
}
