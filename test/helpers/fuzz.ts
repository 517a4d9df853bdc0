// Shared generators for the property-based tests (fast-check): JSON-RPC garbage frames and LSP byte
// streams mixing valid frames, malformed headers and noise. `npm run fuzz` raises FUZZ_RUNS.
import fc from 'fast-check';

/** Cases per property: 2,000 in the normal suite, FUZZ_RUNS for longer runs (`npm run fuzz`). */
export const FUZZ_RUNS = Math.max(1, Number(process.env.FUZZ_RUNS) || 2000);

/** fast-check options: the run count, and a fixed seed when FUZZ_SEED is set (to replay a failure). */
export function fuzzOptions(numRuns = FUZZ_RUNS): { numRuns: number; seed?: number } {
  const seed = Number(process.env.FUZZ_SEED);
  return Number.isInteger(seed) ? { numRuns, seed } : { numRuns };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A message a server may run. */
export const runnable = (v: unknown): boolean =>
  isObject(v) &&
  v.jsonrpc === '2.0' &&
  typeof v.method === 'string' &&
  (!('id' in v) || typeof v.id === 'string' || typeof v.id === 'number');
/** A well-formed response (an LSP client may send these; they get no answer). */
export const wellFormedResponse = (v: unknown): boolean => {
  if (!isObject(v) || v.jsonrpc !== '2.0' || 'method' in v) return false;
  const idOk = v.id === null || typeof v.id === 'string' || (typeof v.id === 'number' && Number.isFinite(v.id));
  if (!idOk) return false;
  if ('result' in v) return true;
  const e = v.error as { code?: unknown; message?: unknown } | null | undefined;
  return isObject(e) && typeof e.code === 'number' && typeof e.message === 'string';
};

export function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A frame with nothing runnable in it: unreadable JSON, a non-object, a bad envelope, a batch of those. */
export function isGarbage(text: string): boolean {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return true;
  }
  return Array.isArray(v) ? v.every((e) => !runnable(e)) : !runnable(v);
}

export const garbageFrame = fc
  .oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.json(),
    fc
      .record(
        {
          jsonrpc: fc.oneof(fc.constant('2.0'), fc.constant('1.0'), fc.integer()),
          id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.object(), fc.boolean()),
          method: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string())),
          result: fc.jsonValue(),
          params: fc.jsonValue(),
        },
        { requiredKeys: [] },
      )
      .map((o) => JSON.stringify(o)),
    fc
      .tuple(fc.constantFrom('{"jsonrpc":"2.0","id":7,"method":"test/echo","params":{"a":[1,2]}}'), fc.nat(60))
      .map(([s, n]) => s.slice(0, n)),
    fc.array(fc.jsonValue(), { maxLength: 4 }).map((a) => JSON.stringify(a)),
  )
  .filter(isGarbage);

/**
 * How many replies a garbage frame gets from a server that lets well-formed responses through
 * (stdio / IPC): 0 when every message in it is a response, else 1 (one array for a batch).
 */
export function repliesToGarbage(text: string, responsesPass: boolean): 0 | 1 {
  if (!responsesPass) return 1;
  const v = parseOrUndefined(text);
  if (v === undefined) return 1;
  if (Array.isArray(v)) return v.length > 0 && v.every(wellFormedResponse) ? 0 : 1;
  return wellFormedResponse(v) ? 0 : 1;
}

// ---- LSP byte streams ----

const MARK = /content-length:/i;

export function lspFrame(body: string | Buffer): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`), b]);
}

/** One piece of an LSP stream, with what a conforming reader must make of it. */
export type LspItem =
  /** A well-framed request the server must run and answer (id unique per stream). */
  | { kind: 'valid'; bytes: Buffer; body: string; id: number; method: string }
  /** A well-framed body that is not a runnable message: answered by the envelope checks. */
  | { kind: 'badBody'; bytes: Buffer; body: string }
  /** A complete header block with a bad Content-Length (it contains "Content-Length:"), and a body. */
  | { kind: 'badHeader'; bytes: Buffer }
  /** Bytes without "Content-Length:" anywhere: no header at all, or a header block without it. */
  | { kind: 'noise'; bytes: Buffer };

const noMark = (s: string) => !MARK.test(s);
const bodyNoMark = fc.oneof(fc.string({ maxLength: 40 }), fc.json({ maxDepth: 2 })).filter(noMark);

const badLength = fc.oneof(
  fc.constantFrom('-5', '-1', '', 'abc', '1e3', '0x10', '5.5', '+5', '5 5', '12345678901234567890', '99999999999'),
  fc.integer({ max: -1 }).map(String),
  fc.string({ maxLength: 6 }).filter((s) => !/^\d+$/.test(s.trim()) && !/[\r\n]/.test(s)),
);

const badHeader: fc.Arbitrary<LspItem> = fc
  .tuple(
    fc.oneof(
      badLength.map((v) => `Content-Length: ${v}\r\n\r\n`),
      badLength.map((v) => `Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: ${v}\r\n\r\n`),
      fc
        .tuple(fc.nat(99), fc.nat(99))
        .filter(([a, b]) => a !== b)
        .map(([a, b]) => `Content-Length: ${a}\r\nContent-Length: ${b}\r\n\r\n`),
    ),
    bodyNoMark,
  )
  .map(([h, b]) => ({ kind: 'badHeader', bytes: Buffer.from(h + b, 'utf8') }));

// Noise starts with a byte no header line can start with, and ':' is left out so that noise cannot
// complete a "content-length" another piece of noise ended with.
const noiseStart = fc.constantFrom('{', '[', '"', ' ', '\u0000', '\r', '\n', '<', '\t', '\u00ff', '}');
const noise: fc.Arbitrary<LspItem> = fc
  .oneof(
    fc.tuple(noiseStart, fc.string({ maxLength: 60 })).map(([a, b]) => a + b),
    fc.tuple(noiseStart, fc.string({ unit: 'binary', maxLength: 60 })).map(([a, b]) => a + b),
    fc.json().map((j) => (j.startsWith('{') || j.startsWith('[') || j.startsWith('"') ? j : `{${j}`)),
    fc.constantFrom('{"jsonrpc":"2.0","id":1,"method":"x"}\r\n\r\n', '\r\n\r\n', '\n\n{}'),
    bodyNoMark.map((b) => `Content-Type: application/json\r\n\r\n${b}`),
    fc.constant(`X-Pad: ${'a'.repeat(9000)}\r\n\r\n`),
  )
  .filter((s) => noMark(s) && !s.startsWith(':'))
  .map((s) => ({ kind: 'noise', bytes: Buffer.from(s, 'utf8') }));

const badBody: fc.Arbitrary<LspItem> = garbageFrame.map((body) => ({
  kind: 'badBody',
  bytes: lspFrame(body),
  body,
}));

/** A stream of items; valid requests use `methods` and ids unique in the stream. */
export function lspStream(methods: readonly string[], maxItems = 12): fc.Arbitrary<LspItem[]> {
  const valid = fc.tuple(fc.constantFrom(...methods), fc.boolean()).map(([method, lf]) => ({ method, lf }));
  const item = fc.oneof(
    { arbitrary: valid.map((v) => ({ kind: 'valid' as const, ...v })), weight: 3 },
    { arbitrary: badBody, weight: 2 },
    { arbitrary: badHeader, weight: 2 },
    { arbitrary: noise, weight: 2 },
  );
  return fc.array(item, { minLength: 1, maxLength: maxItems }).map((items) => {
    let next = 1_000_000_000_000;
    return items.map((it): LspItem => {
      if (it.kind !== 'valid' || !('lf' in it)) return it;
      const id = next++;
      const body = JSON.stringify({ jsonrpc: '2.0', id, method: it.method });
      // Header names in either case, with a Content-Type now and then: both are valid.
      const header = it.lf
        ? `content-length: ${Buffer.byteLength(body)}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n`
        : `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      return { kind: 'valid', bytes: Buffer.from(header + body, 'utf8'), body, id, method: it.method };
    });
  });
}

/**
 * The error replies (id null, from the framing) a conforming reader sends for `items`: one per bad
 * header; one per header-less stretch read where a header was due (after a frame or at the start),
 * none for one read while skipping to the next header.
 */
export function expectedFramingErrors(items: readonly LspItem[]): number {
  let skipping = false;
  let n = 0;
  for (const it of items) {
    if (it.kind === 'badHeader') {
      n++;
      skipping = true;
    } else if (it.kind === 'noise') {
      if (!skipping) n++;
      skipping = true;
    } else skipping = false;
  }
  return n;
}

/** Split bytes at random points (how a pipe may deliver them). */
export function chunked(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    if (p > at) out.push(bytes.subarray(at, p));
    at = Math.max(at, p);
  }
  if (at < bytes.length) out.push(bytes.subarray(at));
  return out;
}
