// The numbers behind wait estimates: seeded randomness, log-normal service times and the
// expected remaining time of a request already running. Pure functions, no state.
/** A service-time distribution: mean and spread of the time a request holds its slot, and how
 *  far the numbers are trusted (0..1). */
export interface Processing {
  meanMs: number;
  sdMs: number;
  confidence: number;
}

/** Expected remaining time of a request that has run `elapsedMs`, for a normal service time
 *  N(mean, sd): E[S − e | S > e]. Past the mean it is the tail's mean excess, never zero. */
export function meanResidual(meanMs: number, sdMs: number, elapsedMs: number): number {
  if (sdMs <= 0) return Math.max(0, meanMs - elapsedMs);
  const z = (elapsedMs - meanMs) / sdMs;
  const tail = 1 - normalCdf(z);
  // Far in the tail the ratio φ/(1−Φ) tends to z: use the asymptote to avoid dividing by ~0.
  const hazard = tail < 1e-9 ? z + 1 / Math.max(z, 1) : normalPdf(z) / tail;
  return Math.max(0, meanMs + sdMs * hazard - elapsedMs);
}

/** Seeded PRNG (mulberry32): the simulation's randomness, reproducible and without Math.random. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function exponential(rand: () => number): number {
  return -Math.log(1 - rand());
}

/** Log-normal parameters with the given mean and standard deviation. */
export function logNormal(d: Processing): { mu: number; sigma: number } {
  const m = Math.max(1e-9, d.meanMs);
  const s2 = Math.log(1 + (d.sdMs / m) ** 2);
  return { mu: Math.log(m) - s2 / 2, sigma: Math.sqrt(s2) };
}

export function sampleLogNormal(d: Processing, rand: () => number): number {
  if (d.meanMs <= 0) return 0;
  if (d.sdMs <= 0) return d.meanMs;
  const { mu, sigma } = logNormal(d);
  return Math.exp(mu + sigma * normalInv(Math.min(1 - 1e-12, Math.max(1e-12, rand()))));
}

/** Remaining time of a request that has already run `elapsedMs`: its duration drawn from the
 *  log-normal conditioned on being longer than that (inverse CDF on the upper part). */
export function sampleResidual(d: Processing, elapsedMs: number, rand: () => number): number {
  if (d.sdMs <= 0 || d.meanMs <= 0) return Math.max(0, d.meanMs - elapsedMs);
  if (elapsedMs <= 0) return sampleLogNormal(d, rand);
  const { mu, sigma } = logNormal(d);
  const ze = (Math.log(elapsedMs) - mu) / sigma;
  const below = normalCdf(ze);
  // Deep in the tail the log-excess is about exponential with mean σ/z: avoid inverting at ~1.
  if (1 - below < 1e-9) return elapsedMs * (Math.exp((sigma / Math.max(ze, 1)) * exponential(rand)) - 1);
  const u = below + rand() * (1 - below);
  return Math.max(0, Math.exp(mu + sigma * normalInv(Math.min(1 - 1e-12, u))) - elapsedMs);
}

/** Inverse standard normal CDF (Acklam; relative error below 1.2e-9). */
export function normalInv(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const poly = (k: number[], x: number): number => k.reduce((acc, v) => acc * x + v, 0);
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Abramowitz & Stegun 7.1.26 (error below 1.5e-7): plenty for a wait estimate. */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
