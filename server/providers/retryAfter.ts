// Rate-limit timing from response headers. Providers disagree on the header and its unit, and a
// wrong reading either hammers a limited API or idles for nothing, so every form we know is here.
import type { HeaderReader } from './httpClient';

/**
 * Milliseconds to wait, from (in order of precision) `retry-after-ms`, `Retry-After` (seconds or an
 * HTTP date), then the `x-ratelimit-reset-*` family ("1s", "6m0s", "250ms"). Among the reset
 * headers, the one whose `remaining` is 0 wins; if that is unknown, the longest (never hammer).
 */
export function parseRetryAfterMs(headers: HeaderReader, nowMs: number): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.max(0, Number(ms));
  const ra = headers.get('retry-after');
  if (ra !== null) {
    const v = parseTimeValue(ra, nowMs, 's');
    if (v !== undefined) return v;
  }
  const exhausted: number[] = [];
  const all: number[] = [];
  for (const prefix of ['x-ratelimit-reset', 'anthropic-ratelimit']) {
    for (const [name, remainingName] of RESET_HEADERS[prefix] ?? []) {
      const raw = headers.get(name);
      if (raw === null) continue;
      const v = parseTimeValue(raw, nowMs, 's');
      if (v === undefined) continue;
      all.push(v);
      if (remainingName !== undefined && headers.get(remainingName)?.trim() === '0') exhausted.push(v);
    }
  }
  if (exhausted.length > 0) return Math.max(...exhausted);
  return all.length > 0 ? Math.max(...all) : undefined;
}

const RESET_HEADERS: Record<string, [string, string | undefined][]> = {
  'x-ratelimit-reset': [
    ['x-ratelimit-reset-requests', 'x-ratelimit-remaining-requests'],
    ['x-ratelimit-reset-tokens', 'x-ratelimit-remaining-tokens'],
    ['x-ratelimit-reset', 'x-ratelimit-remaining'],
  ],
  'anthropic-ratelimit': [
    ['anthropic-ratelimit-requests-reset', 'anthropic-ratelimit-requests-remaining'],
    ['anthropic-ratelimit-tokens-reset', 'anthropic-ratelimit-tokens-remaining'],
  ],
};

/** A number (in `bareUnit`), a Go-style duration ("1m30.5s", "20ms"), or a date (HTTP or ISO). */
export function parseTimeValue(raw: string, nowMs: number, bareUnit: 's' | 'ms'): number | undefined {
  const s = raw.trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * (bareUnit === 's' ? 1000 : 1);
  const d = parseDurationMs(s);
  if (d !== undefined) return d;
  const date = Date.parse(s);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

const DURATION_UNIT_MS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
  ns: 0.000001,
};

/** "6m0s" → 360000, "1.5s" → 1500, "250ms" → 250; undefined if not a duration. */
export function parseDurationMs(s: string): number | undefined {
  // \u00b5 is µ, escaped: the daemon's bundle stays pure ASCII (see esbuild.mjs).
  const re = /(\d+(?:\.\d+)?)(ms|us|\u00b5s|ns|h|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    total += Number(m[1]) * (DURATION_UNIT_MS[m[2] ?? ''] ?? Number.NaN);
    matched = re.lastIndex;
  }
  return matched === s.length && matched > 0 && Number.isFinite(total) ? total : undefined;
}
