// The JavaScript GGUF header check that runs before node-llama-cpp sees a file: examples (valid,
// version 99, the bit flip that aborted the daemon, truncation, big-endian) and properties over
// random, structured and mutated headers (fast-check): it never throws, and it never accepts a
// header whose declared lengths reach past the end of the file (checked by an independent BigInt walk).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import {
  MAX_STRING_BYTES,
  validateGgufBytes,
  validateGgufFile,
  type GgufHeaderVerdict,
} from '../../server/discovery/ggufHeader';
import { writeGguf } from '../fixtures/genGguf';

/** Cases per property: 2,000 in the suite; FUZZ_RUNS for longer runs, FUZZ_SEED to replay one. */
const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS) || 2000);
const seed = Number(process.env.FUZZ_SEED);
const fcOptions = { numRuns: RUNS, ...(Number.isInteger(seed) ? { seed } : {}) };

let dir: string;
let valid: Buffer;
let header: Buffer;
let headerEnd: number;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-gguf-header-'));
  const file = path.join(dir, 'tiny.gguf');
  writeGguf(file, { ctx: 2048 });
  valid = fs.readFileSync(file);
  const v = validateGgufFile(file);
  assert.ok(v.ok, JSON.stringify(v));
  headerEnd = v.headerEnd;
  header = valid.subarray(0, headerEnd);
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

function problem(v: GgufHeaderVerdict): string {
  return v.ok ? 'ok' : v.problem;
}

test('a generated model passes with its counts; the header ends before the tensor data', () => {
  const v = validateGgufBytes(valid);
  assert.ok(v.ok);
  assert.equal(v.version, 3);
  assert.equal(v.kvCount, 23);
  assert.equal(v.tensorCount, 21);
  assert.ok(v.headerEnd > 24 && v.headerEnd < valid.length);
  // Only the header is read: the file size may say more than the bytes at hand hold.
  assert.ok(validateGgufBytes(header, valid.length).ok);
});

test('version 99 is incompatible with a reason; a byte-swapped version names big-endian', () => {
  const v99 = Buffer.from(valid);
  v99.writeUInt32LE(99, 4);
  const v = validateGgufBytes(v99);
  assert.equal(problem(v), 'unsupported_version');
  assert.match(v.ok ? '' : v.reason, /unsupported GGUF version 99/);
  const be = Buffer.from(valid);
  be.writeUInt32BE(3, 4);
  assert.equal(problem(validateGgufBytes(be)), 'big_endian');
  for (const version of [0, 4, 0xffffffff]) {
    const b = Buffer.from(valid);
    b.writeUInt32LE(version, 4);
    assert.equal(problem(validateGgufBytes(b)), 'unsupported_version', `version ${version}`);
  }
});

test('the bit flip that aborted node-llama-cpp (a key length of 2^31 + 20) is refused before any native read', () => {
  const b = Buffer.from(valid);
  b[24 + 3]! ^= 0x80;
  const v = validateGgufBytes(b);
  assert.equal(problem(v), 'bad_length');
  assert.match(v.ok ? '' : v.reason, /metadata key #0 at byte 24 declares 2147483668 bytes/);
});

test('bad magic, too small, truncated header, absurd counts, unknown types, zero alignment', () => {
  assert.equal(problem(validateGgufBytes(Buffer.from('GGML' + '\0'.repeat(40)))), 'bad_magic');
  assert.equal(problem(validateGgufBytes(valid.subarray(0, 20))), 'too_small');
  for (const n of [1000, 5000, headerEnd - 1]) {
    const v = validateGgufBytes(header.subarray(0, n));
    assert.match(v.ok ? '' : v.reason, /^truncated/, `cut at ${n}`);
  }
  const many = Buffer.from(valid);
  many.writeBigUInt64LE(1n << 40n, 16);
  assert.equal(problem(validateGgufBytes(many)), 'bad_count');
  const huge = Buffer.from(valid);
  huge.writeBigUInt64LE(1n << 62n, 8);
  assert.equal(problem(validateGgufBytes(huge)), 'bad_length');
  // The first value type (general.architecture, a string) at 24 + 8 + 20.
  const type = Buffer.from(valid);
  type.writeUInt32LE(77, 24 + 8 + 'general.architecture'.length);
  assert.equal(problem(validateGgufBytes(type)), 'bad_type');
  const align = Buffer.from(valid);
  const at = align.indexOf('general.alignment') + 'general.alignment'.length + 4;
  align.writeUInt32LE(0, at);
  assert.equal(problem(validateGgufBytes(align)), 'bad_value');
});

test('a string value within the file but larger than any real one is refused', () => {
  // general.architecture's value length at 24 + 8 + 20 + 4.
  const b = Buffer.from(valid);
  b.writeBigUInt64LE(BigInt(MAX_STRING_BYTES + 1), 24 + 8 + 20 + 4);
  assert.equal(problem(validateGgufBytes(b, MAX_STRING_BYTES * 4)), 'bad_length');
});

test('a missing file and a folder are answers, not exceptions', () => {
  assert.equal(problem(validateGgufFile(path.join(dir, 'missing.gguf'))), 'unreadable');
  assert.equal(problem(validateGgufFile(dir)), 'unreadable');
});

// ---- properties ----------------------------------------------------------------------------

/**
 * The oracle: an independent walk of every declared length with BigInt arithmetic. True when the
 * header parses to its end with every string, array and count inside `size` (and inside `bytes`).
 */
function lengthsWithinFile(bytes: Uint8Array, size: number): boolean {
  const limit = BigInt(Math.min(size, bytes.length));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0n;
  const take = (n: bigint): number => {
    if (n < 0n || pos + n > limit) throw new Error('past the end');
    const at = Number(pos);
    pos += n;
    return at;
  };
  const u32 = () => BigInt(dv.getUint32(take(4n), true));
  const u64 = () => dv.getBigUint64(take(8n), true);
  const scalar: Record<string, bigint> = {
    0: 1n,
    1: 1n,
    2: 2n,
    3: 2n,
    4: 4n,
    5: 4n,
    6: 4n,
    7: 1n,
    10: 8n,
    11: 8n,
    12: 8n,
  };
  try {
    if (limit < 8n) return false;
    if (String.fromCharCode(...bytes.subarray(0, 4)) !== 'GGUF') return false;
    take(4n);
    const version = u32();
    const len = version === 1n ? u32 : u64;
    const tensors = len();
    const kvs = len();
    const value = (type: bigint): void => {
      const s = scalar[type.toString()];
      if (s !== undefined) return void take(s);
      if (type === 8n) return void take(len());
      if (type !== 9n) throw new Error('type');
      const elem = u32();
      const count = len();
      const es = scalar[elem.toString()];
      if (es !== undefined) return void take(count * es);
      if (count > limit) throw new Error('count');
      for (let i = 0n; i < count; i++) value(elem);
    };
    if (kvs > limit || tensors > limit) return false;
    for (let i = 0n; i < kvs; i++) {
      take(len());
      value(u32());
    }
    for (let i = 0n; i < tensors; i++) {
      take(len());
      const dims = u32();
      if (dims > 16n) return false;
      for (let d = 0n; d < dims; d++) len();
      take(4n + 8n);
    }
    return pos <= BigInt(size);
  } catch {
    return false;
  }
}

function check(bytes: Uint8Array, size: number): GgufHeaderVerdict {
  let v: GgufHeaderVerdict;
  try {
    v = validateGgufBytes(bytes, size);
  } catch (e) {
    throw new Error(`the validator threw: ${(e as Error).message}`, { cause: e });
  }
  if (v.ok) {
    assert.ok(lengthsWithinFile(bytes, size), 'accepted a header whose declared lengths pass the end of the file');
    assert.ok(v.headerEnd <= size);
  } else {
    assert.equal(typeof v.reason, 'string');
    assert.ok(v.reason.length > 0);
  }
  return v;
}

test(`property: random bytes, with and without a GGUF prefix (${RUNS} cases)`, () => {
  const prefix = fc.constantFrom(
    new Uint8Array(0),
    Uint8Array.from([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]),
    Uint8Array.from([0x47, 0x47, 0x55, 0x46, 2, 0, 0, 0]),
    Uint8Array.from([0x47, 0x47, 0x55, 0x46, 1, 0, 0, 0]),
  );
  fc.assert(
    fc.property(prefix, fc.uint8Array({ maxLength: 600 }), fc.nat(2000), (p, rest, extra) => {
      const bytes = new Uint8Array([...p, ...rest]);
      check(bytes, bytes.length);
      check(bytes, bytes.length + extra);
    }),
    fcOptions,
  );
});

/** A u64 length as declared: the real one, slightly off, or absurd. */
const declared = (real: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(BigInt(real)) },
    { weight: 2, arbitrary: fc.integer({ min: -8, max: 64 }).map((d) => BigInt(Math.max(0, real + d))) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
    { weight: 1, arbitrary: fc.constantFrom(1n << 31n, (1n << 31n) + 20n, (1n << 32n) - 1n, 1n << 53n) },
  );

const kvEntry = fc.record({
  key: fc.string({ maxLength: 24 }),
  kind: fc.constantFrom('u32', 'string', 'strings', 'u8s', 'badtype'),
  text: fc.string({ maxLength: 40 }),
  items: fc.array(fc.string({ maxLength: 8 }), { maxLength: 6 }),
});

/** A structured header whose lengths and counts are declared by fast-check (often truthfully). */
const structured = fc
  .record({
    version: fc.constantFrom(1, 2, 3, 3, 3, 99),
    kvs: fc.array(kvEntry, { maxLength: 6 }),
    tensors: fc.array(
      fc.record({ name: fc.string({ maxLength: 12 }), dims: fc.array(fc.nat(4096), { maxLength: 5 }) }),
      {
        maxLength: 4,
      },
    ),
    kvCountDelta: fc.integer({ min: -1, max: 2 }),
    seed: fc.nat(),
  })
  .chain((h) =>
    fc.tuple(
      fc.constant(h),
      fc.array(declared(0), { minLength: 64, maxLength: 64 }),
      fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
    ),
  )
  .map(([h, lies, useLie]) => {
    let k = 0;
    const out: number[] = [];
    const u32 = (v: number) => out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    const u64 = (v: bigint) => {
      for (let i = 0n; i < 8n; i++) out.push(Number((v >> (8n * i)) & 0xffn));
    };
    const len = (real: number) => {
      const i = k++ % 64;
      const v = useLie[i] ? lies[i]! : BigInt(real);
      if (h.version === 1) u32(Number(v & 0xffffffffn));
      else u64(v);
    };
    const str = (s: string) => {
      const b = Buffer.from(s, 'utf8');
      len(b.length);
      out.push(...b);
    };
    out.push(0x47, 0x47, 0x55, 0x46);
    u32(h.version);
    len(h.tensors.length);
    len(Math.max(0, h.kvs.length + h.kvCountDelta));
    for (const kv of h.kvs) {
      str(kv.key);
      if (kv.kind === 'u32') {
        u32(4);
        u32(h.seed);
      } else if (kv.kind === 'string') {
        u32(8);
        str(kv.text);
      } else if (kv.kind === 'strings') {
        u32(9);
        u32(8);
        len(kv.items.length);
        for (const s of kv.items) str(s);
      } else if (kv.kind === 'u8s') {
        u32(9);
        u32(0);
        len(kv.text.length);
        out.push(...Buffer.from(kv.text, 'latin1'));
      } else {
        u32(13 + (h.seed % 100));
      }
    }
    for (const t of h.tensors) {
      str(t.name);
      u32(t.dims.length);
      for (const d of t.dims) len(d);
      u32(0);
      u64(0n);
    }
    return Uint8Array.from(out);
  });

test(`property: structured headers with true, slightly wrong and absurd lengths (${RUNS} cases)`, () => {
  let accepted = 0;
  fc.assert(
    fc.property(structured, fc.nat(64), (bytes, cut) => {
      if (check(bytes, bytes.length).ok) accepted++;
      check(bytes.subarray(0, Math.max(0, bytes.length - cut)), Math.max(0, bytes.length - cut));
    }),
    fcOptions,
  );
  assert.ok(accepted > RUNS / 20, `some structured headers are valid (${accepted})`);
});

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('u64' as const), at: fc.nat(), value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
);

test(`property: a real header mutated (bit flips, bytes, u64 fields, truncation) (${RUNS} cases)`, () => {
  let accepted = 0;
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
      let b = Buffer.from(header);
      let size = valid.length;
      for (const m of muts) {
        const at = m.at % b.length;
        if (m.kind === 'flip') b[at]! ^= 1 << m.bit;
        else if (m.kind === 'byte') b[at] = m.value;
        else if (m.kind === 'u64' && at + 8 <= b.length) b.writeBigUInt64LE(m.value, at);
        else if (m.kind === 'cut') {
          b = b.subarray(0, at);
          size = at;
        }
      }
      if (check(b, size).ok) accepted++;
    }),
    fcOptions,
  );
  assert.ok(accepted > 0, 'some mutations (inside string bodies, values) leave a valid header');
});
