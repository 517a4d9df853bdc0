// A GGUF header check in plain JavaScript, run before any native reader sees the file. It walks the
// header (magic, version, counts, every metadata key and value, every tensor description) and
// refuses what a bit flip or a truncated download produces: a length or count beyond the end of
// the file, a version no llama.cpp writes, a value type that does not exist. node-llama-cpp's reader
// trusts these numbers; a string length above 2 GiB aborts the whole process natively.
// It never throws, reads the file sequentially once and skips string bodies without reading them.
import fs from 'node:fs';

export type GgufHeaderProblem =
  | 'too_small'
  | 'bad_magic'
  | 'big_endian'
  | 'unsupported_version'
  | 'bad_count'
  | 'bad_length'
  | 'bad_type'
  | 'bad_value'
  | 'truncated'
  | 'unreadable';

export type GgufHeaderVerdict =
  | {
      ok: true;
      version: number;
      tensorCount: number;
      kvCount: number;
      /** Where the tensor descriptions end (the data section follows after alignment). */
      headerEnd: number;
    }
  | { ok: false; problem: GgufHeaderProblem; reason: string };

/** A file's bytes: `read` returns up to `length` bytes at `position` (fewer at the end). */
export interface ByteSource {
  readonly size: number;
  read(position: number, length: number): Uint8Array;
}

/** Magic, version, tensor count, kv count (v2+: 4 + 4 + 8 + 8). */
export const GGUF_MIN_BYTES = 24;
export const GGUF_VERSIONS: readonly number[] = [1, 2, 3];
/** A metadata key longer than this is corruption (real keys are dotted names of a few dozen bytes). */
export const MAX_KEY_BYTES = 64 * 1024;
/**
 * One string value longer than this is corruption (the largest real ones, chat templates, are tens
 * of KB). It also keeps every single read node-llama-cpp makes far below the 2 GiB Node cannot read.
 */
export const MAX_STRING_BYTES = 64 * 1024 * 1024;
/** ggml's GGML_MAX_DIMS. */
export const MAX_TENSOR_DIMS = 4;
/** Arrays of arrays are allowed by the format; deeper than this is corruption. */
const MAX_ARRAY_DEPTH = 3;
const MAX_ALIGNMENT = 1 << 24;
const CHUNK_BYTES = 64 * 1024;

const T_U8 = 0,
  T_I8 = 1,
  T_U16 = 2,
  T_I16 = 3,
  T_U32 = 4,
  T_I32 = 5,
  T_F32 = 6,
  T_BOOL = 7,
  T_STRING = 8,
  T_ARRAY = 9,
  T_U64 = 10,
  T_I64 = 11,
  T_F64 = 12;
/** Fixed sizes of the scalar value types. */
const SCALAR_BYTES: Readonly<Record<number, number>> = {
  [T_U8]: 1,
  [T_I8]: 1,
  [T_U16]: 2,
  [T_I16]: 2,
  [T_U32]: 4,
  [T_I32]: 4,
  [T_F32]: 4,
  [T_BOOL]: 1,
  [T_U64]: 8,
  [T_I64]: 8,
  [T_F64]: 8,
};

class Bad extends Error {
  constructor(
    readonly problem: GgufHeaderProblem,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const DOWNLOAD_AGAIN = 'download the file again';

/** Names a field for an error message; only called when there is an error. */
type What = () => string;

/** Sequential little-endian reads over a ByteSource through a small window. */
class Cursor {
  pos = 0;
  private window: Uint8Array = new Uint8Array(0);
  private windowStart = 0;

  constructor(private readonly src: ByteSource) {}

  get size(): number {
    return this.src.size;
  }

  private bytes(n: number, what: What): Uint8Array {
    if (this.pos + n > this.src.size) {
      throw new Bad(
        'truncated',
        `truncated GGUF header: ${what()} at byte ${this.pos} needs ${n} bytes but the file ends at ` +
          `${this.src.size}; ${DOWNLOAD_AGAIN}`,
      );
    }
    const off = this.pos - this.windowStart;
    if (off < 0 || off + n > this.window.length) {
      this.window = this.src.read(this.pos, Math.max(n, CHUNK_BYTES));
      this.windowStart = this.pos;
      if (this.window.length < n) {
        throw new Bad('truncated', `truncated GGUF header: could read only ${this.window.length} of ${n} bytes`);
      }
    }
    const start = this.pos - this.windowStart;
    this.pos += n;
    return this.window.subarray(start, start + n);
  }

  u32(what: What): number {
    const b = this.bytes(4, what);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16)) + b[3]! * 0x1000000;
  }

  /** A u64 as a number; above 2^53 it is corruption in any field of a file that fits on a disk. */
  u64(what: What): number {
    const lo = this.u32(what);
    const hi = this.u32(what);
    if (hi >= 0x200000) {
      throw new Bad(
        'bad_length',
        `corrupt GGUF header: ${what()} at byte ${this.pos - 8} is above 2^53; ${DOWNLOAD_AGAIN}`,
      );
    }
    return hi * 0x100000000 + lo;
  }

  /** Move past `n` bytes that must lie inside the file. */
  skip(n: number, what: What): void {
    if (!(n >= 0) || this.pos + n > this.src.size) {
      throw new Bad(
        'bad_length',
        `truncated or corrupt GGUF header: ${what()} at byte ${this.pos} declares ${n} bytes, beyond the end of the file ` +
          `(${this.src.size} bytes); ${DOWNLOAD_AGAIN}`,
      );
    }
    this.pos += n;
  }

  text(n: number, what: What): string {
    return Buffer.from(this.bytes(n, what)).toString('utf8');
  }
}

/** Validate the header of a GGUF held in `src`. Never throws. */
export function validateGgufHeader(src: ByteSource): GgufHeaderVerdict {
  try {
    return walk(new Cursor(src));
  } catch (e) {
    if (e instanceof Bad) return { ok: false, problem: e.problem, reason: e.reason };
    return { ok: false, problem: 'unreadable', reason: `unreadable GGUF header: ${errorMessage(e)}` };
  }
}

/** Validate a header held in memory; `fileSize` is the size of the whole file when `bytes` is its start. */
export function validateGgufBytes(bytes: Uint8Array, fileSize = bytes.length): GgufHeaderVerdict {
  const size = Number.isFinite(fileSize) ? Math.max(0, Math.floor(fileSize)) : bytes.length;
  return validateGgufHeader({
    size,
    read: (p, n) => bytes.subarray(p, Math.min(p + n, bytes.length, size)),
  });
}

/** Validate the header of the file at `file` with plain synchronous reads. Never throws. */
export function validateGgufFile(file: string): GgufHeaderVerdict {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const handle = fd;
    return validateGgufHeader({
      size,
      read: (p, n) => {
        const buf = Buffer.alloc(Math.min(n, Math.max(0, size - p)));
        let got = 0;
        while (got < buf.length) {
          const r = fs.readSync(handle, buf, got, buf.length - got, p + got);
          if (r === 0) break;
          got += r;
        }
        return buf.subarray(0, got);
      },
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return { ok: false, problem: 'unreadable', reason: 'the file disappeared while it was being read' };
    if (code === 'EACCES' || code === 'EPERM')
      return { ok: false, problem: 'unreadable', reason: 'permission denied: Backstop cannot read this file' };
    return { ok: false, problem: 'unreadable', reason: `unreadable file: ${errorMessage(e)}` };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function byteSwap32(v: number): number {
  return (((v & 0xff) << 24) | (((v >>> 8) & 0xff) << 16) | (((v >>> 16) & 0xff) << 8) | (v >>> 24)) >>> 0;
}

function walk(c: Cursor): GgufHeaderVerdict {
  if (c.size < GGUF_MIN_BYTES) throw new Bad('too_small', `not a GGUF file (only ${c.size} bytes)`);
  if (c.text(4, () => 'the magic') !== 'GGUF') throw new Bad('bad_magic', 'not a GGUF file (bad magic)');
  const version = c.u32(() => 'the version');
  if (!GGUF_VERSIONS.includes(version)) {
    const swapped = byteSwap32(version);
    if (GGUF_VERSIONS.includes(swapped)) {
      throw new Bad(
        'big_endian',
        `a big-endian GGUF (version ${swapped}): llama.cpp on this machine reads little-endian files only`,
      );
    }
    throw new Bad(
      'unsupported_version',
      `unsupported GGUF version ${version} (llama.cpp reads versions ${GGUF_VERSIONS.join(', ')}); ` +
        'the file is corrupt or of a newer format',
    );
  }
  // Version 1 wrote counts, lengths and dimensions as u32, later versions as u64.
  const lenBytes = version === 1 ? 4 : 8;
  const len = version === 1 ? (what: What) => c.u32(what) : (what: What) => c.u64(what);
  const tensorCount = len(() => 'the tensor count');
  const kvCount = len(() => 'the metadata count');
  const rest = c.size - c.pos;
  // The smallest metadata entry is an empty key, a type and a one-byte value; the smallest tensor
  // description an empty name, a dimension count, a type and an offset.
  if (kvCount * (lenBytes + 4 + 1) > rest) {
    throw new Bad(
      'bad_count',
      `corrupt GGUF header: ${kvCount} metadata entries cannot fit in a ${c.size}-byte file; ${DOWNLOAD_AGAIN}`,
    );
  }
  if (tensorCount * (lenBytes + 4 + 4 + 8) > rest) {
    throw new Bad(
      'bad_count',
      `corrupt GGUF header: ${tensorCount} tensors cannot fit in a ${c.size}-byte file; ${DOWNLOAD_AGAIN}`,
    );
  }

  const str = (what: What, max: number): number => {
    const n = len(() => `the length of ${what()}`);
    if (n > max) {
      throw new Bad(
        'bad_length',
        `corrupt GGUF header: ${what()} at byte ${c.pos - lenBytes} declares ${n} bytes ` +
          `(at most ${max} are plausible); ${DOWNLOAD_AGAIN}`,
      );
    }
    return n;
  };

  const value = (type: number, what: What, depth: number): void => {
    const fixed = SCALAR_BYTES[type];
    if (fixed !== undefined) return c.skip(fixed, what);
    if (type === T_STRING) return c.skip(str(what, MAX_STRING_BYTES), what);
    if (type !== T_ARRAY) {
      throw new Bad('bad_type', `corrupt GGUF header: ${what()} has unknown value type ${type}; ${DOWNLOAD_AGAIN}`);
    }
    if (depth >= MAX_ARRAY_DEPTH) {
      throw new Bad('bad_type', `corrupt GGUF header: ${what()} nests arrays ${depth + 1} deep; ${DOWNLOAD_AGAIN}`);
    }
    const elemType = c.u32(() => `the element type of ${what()}`);
    const count = len(() => `the length of ${what()}`);
    const elemFixed = SCALAR_BYTES[elemType];
    const minElem = elemFixed ?? (elemType === T_STRING ? lenBytes : elemType === T_ARRAY ? 4 + lenBytes : 0);
    if (minElem === 0) {
      throw new Bad(
        'bad_type',
        `corrupt GGUF header: ${what()} has unknown element type ${elemType}; ${DOWNLOAD_AGAIN}`,
      );
    }
    if (count * minElem > c.size - c.pos) {
      throw new Bad(
        'bad_length',
        `truncated or corrupt GGUF header: ${what()} at byte ${c.pos} declares ${count} elements, beyond the end of ` +
          `the file` +
          ` (${c.size} bytes); ${DOWNLOAD_AGAIN}`,
      );
    }
    if (elemFixed !== undefined) return c.skip(count * elemFixed, what);
    for (let i = 0; i < count; i++) value(elemType, () => `${what()}[${i}]`, depth + 1);
  };

  for (let i = 0; i < kvCount; i++) {
    const keyName = () => `metadata key #${i}`;
    const key = c.text(str(keyName, MAX_KEY_BYTES), keyName);
    const what = () => `metadata "${printable(key)}"`;
    const type = c.u32(() => `the type of ${what()}`);
    if (key === 'general.alignment' && type === T_U32) {
      const a = c.u32(what);
      if (a === 0 || (a & (a - 1)) !== 0 || a > MAX_ALIGNMENT) {
        throw new Bad(
          'bad_value',
          `corrupt GGUF header: general.alignment is ${a}, not a power of two; ${DOWNLOAD_AGAIN}`,
        );
      }
      continue;
    }
    value(type, what, 0);
  }
  for (let i = 0; i < tensorCount; i++) {
    const name = () => `the name of tensor #${i}`;
    c.skip(str(name, MAX_KEY_BYTES), name);
    const dims = c.u32(() => `the dimension count of tensor #${i}`);
    if (dims > MAX_TENSOR_DIMS) {
      throw new Bad(
        'bad_count',
        `corrupt GGUF header: tensor #${i} has ${dims} dimensions (ggml allows ${MAX_TENSOR_DIMS}); ${DOWNLOAD_AGAIN}`,
      );
    }
    for (let d = 0; d < dims; d++) len(() => `dimension ${d} of tensor #${i}`);
    c.u32(() => `the type of tensor #${i}`);
    c.u64(() => `the data offset of tensor #${i}`);
  }
  return { ok: true, version, tensorCount, kvCount, headerEnd: c.pos };
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 60 ? `${clean.slice(0, 60)}…` : clean;
}
