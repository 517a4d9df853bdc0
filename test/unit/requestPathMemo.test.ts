// The request path remembers what it computed once (issue 21): period keys, provider origins, a listed
// model's capabilities, the store's file names. Each memo must answer exactly what the computation it
// replaces answers, in any order of questions: these properties compare them on random inputs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { dayKey, monthKey } from '../../server/core/spend';
import { isLoopback, originOf } from '../../server/core/offline';
import { cloudCapabilities } from '../../server/discovery/modelCatalog';
import { familyCapabilities } from '../../server/discovery/modelFamilies';
import { WIRE_FORMATS } from '../../server/providers/wireFormats';

/** 1970 … 2100, with many instants near day and month boundaries. */
const instant = fc.oneof(
  fc.integer({ min: 0, max: Date.UTC(2100, 0, 1) }),
  fc
    .tuple(fc.integer({ min: 2000, max: 2099 }), fc.integer({ min: 0, max: 11 }), fc.integer({ min: 1, max: 31 }))
    .chain(([y, m, d]) => fc.integer({ min: -2, max: 1 }).map((delta) => Date.UTC(y, m, d) + delta)),
);

describe('request-path memos answer as the computation they replace', () => {
  it('dayKey and monthKey: the UTC date of any instant, in any order', () => {
    fc.assert(
      fc.property(fc.array(instant, { minLength: 1, maxLength: 40 }), (xs) => {
        for (const ms of xs) {
          const iso = new Date(ms).toISOString();
          assert.equal(dayKey(ms), iso.slice(0, 10), `day of ${iso}`);
          assert.equal(monthKey(ms), iso.slice(0, 7), `month of ${iso}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('originOf and isLoopback: as a fresh URL parse says, asked again and again', () => {
    const host = fc.constantFrom('127.0.0.1', 'localhost', '[::1]', 'api.openai.com', '127.9.9.9', 'example.test', '');
    const url = fc
      .tuple(
        fc.constantFrom('http', 'https', 'ftp', 'not a scheme'),
        host,
        fc.option(fc.integer({ min: 1, max: 65535 })),
      )
      .map(([s, h, p]) => `${s}://${h}${p === null ? '' : `:${p}`}/v1`);
    const fresh = (u: string): string | undefined => {
      try {
        return new URL(u).origin;
      } catch {
        return undefined;
      }
    };
    fc.assert(
      fc.property(fc.array(fc.oneof(url, fc.string()), { maxLength: 20 }), (urls) => {
        for (const u of [...urls, ...urls]) {
          assert.equal(originOf(u), fresh(u), u);
          const o = fresh(u);
          if (o === undefined || o === 'null') continue;
          const h = new URL(o).hostname;
          assert.equal(isLoopback(o), h === 'localhost' || h === '[::1]' || h.startsWith('127.'), o);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('cloudCapabilities: the family tables filtered by the wire format, and a copy each time', () => {
    const types = Object.keys(WIRE_FORMATS).filter((t) => t !== 'local') as (keyof typeof WIRE_FORMATS)[];
    const name = fc.oneof(
      fc.constantFrom(
        'gpt-4o',
        'gpt-4o-mini',
        'claude-sonnet-4',
        'gemini-2.5-pro',
        'llama3.1:8b',
        'o3-mini',
        'qwen2.5-coder',
      ),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...types), name, (type, n) => {
        const carried = new Set(WIRE_FORMATS[type].capabilities);
        const expected = familyCapabilities(n).filter((c) => carried.has(c));
        const first = cloudCapabilities(type as never, n);
        assert.deepEqual(first, expected);
        first.push('tools');
        assert.deepEqual(cloudCapabilities(type as never, n), expected, 'a caller changing its copy changes nothing');
      }),
      { numRuns: 300 },
    );
  });
});
