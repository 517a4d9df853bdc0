// The stdio framing reader: malformed LSP headers are reported once and the reader resynchronises at
// the next "Content-Length:" header (issue 15, finding 4) — examples, then a fast-check property over
// random streams of valid frames, bad bodies, bad headers and noise, split at random points.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LspFramer, MAX_HEADER_BYTES, readHeader } from '../../server/transports/lspFraming';
import { chunked, expectedFramingErrors, fuzzOptions, lspFrame, lspStream } from '../helpers/fuzz';

function collect(max = 1024 * 1024) {
  const frames: string[] = [];
  const errors: { code: number; message: string }[] = [];
  const framer = new LspFramer(() => max, {
    frame: (b) => frames.push(b.toString('utf8')),
    malformed: (code, message) => errors.push({ code, message }),
  });
  return { framer, frames, errors };
}

const valid = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'm' });

describe('LSP framing reader', () => {
  it('reads frames split anywhere, with header names in any case and extra headers', () => {
    const { framer, frames, errors } = collect();
    const bytes = Buffer.concat([
      lspFrame(valid(1)),
      Buffer.from(`content-length: ${valid(2).length}\r\nContent-Type: application/vscode-jsonrpc\r\n\r\n${valid(2)}`),
      lspFrame('é€'),
    ]);
    for (const b of bytes) framer.push(Buffer.from([b]));
    assert.deepEqual(frames, [valid(1), valid(2), 'é€']);
    assert.deepEqual(errors, []);
  });

  for (const [name, bad, code] of [
    ['a negative length', 'Content-Length: -5\r\n\r\n{"jsonrpc":"2.0"}', -32700],
    ['a non-numeric length', 'Content-Length: abc\r\n\r\nxyz', -32700],
    ['an empty length', 'Content-Length: \r\n\r\n', -32700],
    ['an absurd length', 'Content-Length: 99999999999999999999\r\n\r\n', -32700],
    ['a length over the limit', 'Content-Length: 2000000\r\n\r\n{}', -32006],
    ['conflicting lengths', 'Content-Length: 5\r\nContent-Length: 6\r\n\r\n', -32700],
    ['no header', '{"jsonrpc":"2.0","id":1,"method":"x"}', -32700],
    ['a header without Content-Length', 'Content-Type: application/json\r\n\r\n{}', -32700],
    ['bare newlines', 'Content-Length: 2\n\n{}', -32700],
    ['binary garbage', '\u0000\u0001\u00ff\r\n\r\n', -32700],
  ] as const) {
    it(`${name}: one error, then the next valid frame is read`, () => {
      const { framer, frames, errors } = collect();
      framer.push(Buffer.from(bad, 'utf8'));
      framer.push(lspFrame(valid(7)));
      assert.deepEqual(frames, [valid(7)]);
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.equal(errors[0]!.code, code);
      assert.match(errors[0]!.message, /Content-Length/);
    });
  }

  it('a header block that never ends is refused once it exceeds the limit', () => {
    const { framer, frames, errors } = collect();
    framer.push(Buffer.from(`X-Pad: ${'a'.repeat(MAX_HEADER_BYTES)}`));
    assert.equal(errors.length, 1);
    framer.push(lspFrame(valid(3)));
    assert.deepEqual(frames, [valid(3)]);
  });

  it('a garbage line glued before a real header: the header is still found', () => {
    const { framer, frames, errors } = collect();
    framer.push(Buffer.from('garbage\r\n'));
    framer.push(lspFrame(valid(4)));
    assert.deepEqual(frames, [valid(4)]);
    assert.equal(errors.length, 1);
  });

  it('a length larger than the body: once the stream goes quiet, the header inside the body is taken', () => {
    const { framer, frames, errors } = collect();
    framer.push(Buffer.from('Content-Length: 500\r\n\r\n{}'));
    framer.push(lspFrame(valid(5)));
    assert.deepEqual(frames, []);
    assert.equal(framer.readingBody, true);
    framer.stalled();
    assert.deepEqual(frames, [valid(5)]);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /went quiet after 2 of the 500 bytes/);
  });

  it('a slow honest body is not cut: without a header inside it, stalling changes nothing', () => {
    const { framer, frames, errors } = collect();
    const body = valid(6);
    framer.push(lspFrame(body).subarray(0, 30));
    framer.stalled();
    framer.push(lspFrame(body).subarray(30));
    assert.deepEqual(frames, [body]);
    assert.deepEqual(errors, []);
  });

  it('readHeader waits for a header that is still arriving', () => {
    for (const partial of [
      '',
      'Content-Len',
      'Content-Length: 1',
      'Content-Length: 12\r',
      'Content-Length: 12\r\n\r',
    ]) {
      assert.equal(readHeader(Buffer.from(partial), 100).kind, 'incomplete', JSON.stringify(partial));
    }
  });

  it('property: every frame is read, every malformed header or stretch of noise reported as specified', () => {
    fc.assert(
      fc.property(lspStream(['m']), fc.array(fc.nat(), { maxLength: 8 }), (items, cuts) => {
        const { framer, frames, errors } = collect();
        for (const c of chunked(Buffer.concat([...items.map((i) => i.bytes), lspFrame(valid(0))]), cuts)) {
          framer.push(c);
        }
        const bodies = items.flatMap((i) => (i.kind === 'valid' || i.kind === 'badBody' ? [i.body] : []));
        assert.deepEqual(frames, [...bodies, valid(0)]);
        assert.equal(errors.length, expectedFramingErrors(items), JSON.stringify(errors));
        for (const e of errors) assert.ok(e.code === -32700 || e.code === -32006);
      }),
      fuzzOptions(),
    );
  });
});
