// The gateway's request headers (x-backstop-local-only, x-backstop-purpose) as request fields: what
// each value means, and that no header value, however odd, throws instead of answering with a reason.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PURPOSES } from '../../protocol/enums';
import { gatewayContext } from '../../server/gateway/requestContext';

describe('gateway request headers', () => {
  it('x-backstop-local-only: true/1/yes turn the guard on, false/0/no/empty leave it off', () => {
    for (const v of ['true', 'TRUE', ' 1 ', 'yes'])
      assert.deepEqual(gatewayContext({ 'x-backstop-local-only': v }), {
        ok: true,
        value: { purpose: 'gateway', localOnly: true },
      });
    for (const v of ['false', '0', 'no', ''])
      assert.deepEqual(gatewayContext({ 'x-backstop-local-only': v }), { ok: true, value: { purpose: 'gateway' } });
  });

  it('x-backstop-trim-prompt: true lets the engine leave out the oldest turns; a bad value names the header', () => {
    assert.deepEqual(gatewayContext({ 'x-backstop-trim-prompt': 'true', 'x-backstop-local-only': 'yes' }), {
      ok: true,
      value: { purpose: 'gateway', localOnly: true, trimPrompt: true },
    });
    assert.deepEqual(gatewayContext({ 'x-backstop-trim-prompt': 'maybe' }), {
      ok: false,
      message: 'header x-backstop-trim-prompt: "maybe" is not true or false',
    });
  });

  it('two copies that disagree are refused rather than read as the weaker one', () => {
    const r = gatewayContext({ 'x-backstop-local-only': ['true', 'false'] });
    assert.equal(r.ok, false);
  });

  it('x-backstop-purpose names one of the purposes; anything else is an error listing them', () => {
    for (const p of PURPOSES)
      assert.deepEqual(gatewayContext({ 'x-backstop-purpose': p }), { ok: true, value: { purpose: p } });
    const r = gatewayContext({ 'x-backstop-purpose': 'ghost' });
    assert.deepEqual(r, {
      ok: false,
      message: `header x-backstop-purpose: "ghost" is not a purpose; use one of ${PURPOSES.join(', ')}`,
    });
  });

  it('property: any header values give a context or a message naming the header, never a throw', () => {
    fc.assert(
      fc.property(fc.option(fc.string(), { nil: undefined }), fc.option(fc.string(), { nil: undefined }), (l, p) => {
        const r = gatewayContext({ 'x-backstop-local-only': l, 'x-backstop-purpose': p });
        if (r.ok) {
          assert.ok((PURPOSES as readonly string[]).includes(r.value.purpose));
          assert.equal(
            r.value.localOnly === true,
            l !== undefined && ['true', '1', 'yes'].includes(l.trim().toLowerCase()),
          );
        } else assert.match(r.message, /^header x-backstop-(local-only|purpose): /);
        return true;
      }),
    );
  });
});
