// The LSP base protocol's framing ("Content-Length: <bytes>\r\n\r\n<body>") read defensively: a
// malformed header (negative, absurd or non-numeric length, no header, garbage) is reported once and
// the reader resynchronises at the next "Content-Length:" header instead of wedging the stream, as
// vscode-jsonrpc's StreamMessageReader does. Pure: bytes in, bodies and complaints out.
import { ErrorCodes } from '../../protocol/errors';

export interface FramerEvents {
  /** One complete body, exactly as many bytes as its Content-Length said. */
  frame(body: Buffer): void;
  /** Bytes that are not a frame: to be answered with an error (id null); the reader has moved on. */
  malformed(code: number, message: string): void;
}

/** A header block longer than this is garbage (real ones are a few dozen bytes). */
export const MAX_HEADER_BYTES = 8 * 1024;
const MARK = Buffer.from('content-length:');
const EXPECTED = '"Content-Length: <bytes>\\r\\n\\r\\n" before each message';
const SKIP = 'skipped to the next "Content-Length:" header';

// RFC 7230 token characters for a header name; a value is visible ASCII, spaces, tabs or obs-text.
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*$/;
// What may still become a header line: a name so far, or a name, a colon and a value (and maybe the "\r").
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const PARTIAL_LINE = /^(?:[!#$%&'*+.^_`|~0-9A-Za-z-]*|[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\x00-\x08\x0a-\x1f\x7f]*)\r?$/;

/**
 * `skip`: where reading goes on after a bad header. A block whose lines are fine but whose
 * Content-Length is not (negative, not a number, conflicting, too large) is skipped whole, so its own
 * Content-Length line is not taken again; otherwise (garbage, no header) one byte, as a real header may
 * follow the garbage in the same block.
 */
type Header =
  | { kind: 'incomplete' }
  | { kind: 'bad'; code: number; why: string; skip: number }
  | { kind: 'ok'; end: number; length: number };

const quote = (b: Buffer) => JSON.stringify(b.subarray(0, 40).toString('latin1')) + (b.length > 40 ? '…' : '');

/** Where "content-length:" (any case) starts in `b`, or -1. */
function indexOfMark(b: Buffer, from = 0): number {
  const lower = (c: number) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
  for (let i = from; i <= b.length - MARK.length; i++) {
    let j = 0;
    while (j < MARK.length && lower(b[i + j]!) === MARK[j]) j++;
    if (j === MARK.length) return i;
  }
  return -1;
}

/** Read the header block at the start of `buf`. */
export function readHeader(buf: Buffer, maxBytes: number): Header {
  const end = buf.indexOf('\r\n\r\n');
  const bad = (why: string, code: number = ErrorCodes.ParseError, skip = 1): Header => ({
    kind: 'bad',
    code,
    why,
    skip,
  });
  if (end < 0) {
    // Not complete yet: wait only while what has come can still become a header.
    if (buf.length > MAX_HEADER_BYTES)
      return bad(`no end of header within ${MAX_HEADER_BYTES} bytes; expected ${EXPECTED}`);
    const lines = buf.toString('latin1').split('\r\n');
    const last = lines.pop()!;
    const wrong = lines.find((l) => !LINE.test(l));
    if (wrong !== undefined || !PARTIAL_LINE.test(last)) {
      return bad(`expected ${EXPECTED}, got ${quote(buf)}`);
    }
    return { kind: 'incomplete' };
  }
  if (end > MAX_HEADER_BYTES) return bad(`a header block of more than ${MAX_HEADER_BYTES} bytes; expected ${EXPECTED}`);
  const lengths: string[] = [];
  for (const line of buf.subarray(0, end).toString('latin1').split('\r\n')) {
    const m = LINE.exec(line);
    if (!m) return bad(`expected ${EXPECTED}, got ${quote(buf)}`);
    if (m[1]!.toLowerCase() === 'content-length') lengths.push(m[2]!);
  }
  if (lengths.length === 0) return bad(`no Content-Length in ${quote(buf)}; expected ${EXPECTED}`);
  const text = lengths[0]!;
  const block = end + 4;
  if (lengths.some((l) => l !== text)) {
    const all = lengths.map((l) => JSON.stringify(l)).join(', ');
    return bad(`conflicting Content-Length headers ${all}`, ErrorCodes.ParseError, block);
  }
  if (!/^\d{1,16}$/.test(text)) {
    return bad(
      `Content-Length ${JSON.stringify(text)} is not a byte count; expected ${EXPECTED}`,
      ErrorCodes.ParseError,
      block,
    );
  }
  const length = Number(text);
  if (length > maxBytes) {
    const why = `message of ${length} bytes exceeds the limit of ${maxBytes} bytes (server.maxMessageBytes)`;
    return bad(why, ErrorCodes.MessageTooLarge, block);
  }
  return { kind: 'ok', end: end + 4, length };
}

/**
 * Splits a byte stream into LSP bodies. After a malformed header it skips to the next
 * "Content-Length:" (the bytes between were the bad frame's body); every header that cannot be
 * read is reported once. `stalled()` (the stream went quiet mid-body) gives up on a body whose
 * length was too large when a complete header is waiting inside it.
 */
export class LspFramer {
  private chunks: Buffer[] = [];
  private size = 0;
  /** The body length being read, after a good header. */
  private expect: number | undefined;
  private resyncing = false;

  constructor(
    private readonly maxBytes: () => number,
    private readonly ev: FramerEvents,
  ) {}

  /** A body is partly read. */
  get readingBody(): boolean {
    return this.expect !== undefined;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.drain();
  }

  /** No bytes came for a while in the middle of a body: if a header is waiting inside it, resync there. */
  stalled(): void {
    if (this.expect === undefined) return;
    const partial = this.all();
    const at = indexOfMark(partial, 1);
    if (at < 0) return;
    const expected = this.expect;
    this.expect = undefined;
    this.set(partial.subarray(at));
    const why = `the stream went quiet after ${at} of the ${expected} bytes its Content-Length announced, and a new header follows; ${SKIP}`;
    this.ev.malformed(ErrorCodes.ParseError, `unreadable LSP frame: ${why}`);
    this.drain();
  }

  private all(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private set(b: Buffer): void {
    this.chunks = b.length ? [b] : [];
    this.size = b.length;
  }

  private drain(): void {
    for (;;) {
      if (this.expect !== undefined) {
        if (this.size < this.expect) return;
        const buf = this.all();
        const body = buf.subarray(0, this.expect);
        this.set(buf.subarray(this.expect));
        this.expect = undefined;
        this.ev.frame(body);
        continue;
      }
      if (this.size === 0) return;
      let buf = this.all();
      if (this.resyncing) {
        const at = indexOfMark(buf);
        if (at < 0) {
          // Keep what could be the start of a header split across chunks.
          this.set(buf.subarray(Math.max(0, buf.length - (MARK.length - 1))));
          return;
        }
        buf = buf.subarray(at);
        this.set(buf);
      }
      const h = readHeader(buf, this.maxBytes());
      if (h.kind === 'incomplete') return;
      if (h.kind === 'bad') {
        this.ev.malformed(h.code, `unreadable LSP header: ${h.why}; ${SKIP}`);
        this.set(buf.subarray(h.skip));
        this.resyncing = true;
        continue;
      }
      this.set(buf.subarray(h.end));
      this.expect = h.length;
      this.resyncing = false;
    }
  }
}

/** A body framed for the stream. */
export function frameBody(json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}
