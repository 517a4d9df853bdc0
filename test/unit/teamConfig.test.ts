// Team-state configuration and the in-memory rate-limit bucket (the fallback when Redis is away, and
// the math the Lua script follows).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { validateConfig } from '../../protocol/config';
import { LocalBucket, MINUTE_MS } from '../../server/shared/rateLimiter';
import { redisOptions, redisWhere } from '../../server/shared/redisClient';

const redis = (r: Record<string, unknown>) => validateConfig({ state: { redis: r } });

describe('state.redis config', () => {
  it('takes a redis:// URL with defaults, and refuses a password in the URL naming passwordEnv', () => {
    const ok = redis({ url: 'redis://redis.internal:6379/0' });
    assert.ok(ok.ok);
    assert.equal(ok.config.state.redis?.prefix, 'backstop:');
    const bad = redis({ url: 'redis://:hunter2@redis.internal:6379' });
    assert.ok(!bad.ok);
    assert.match(bad.issues[0]?.message ?? '', /passwordEnv/);
    assert.doesNotMatch(JSON.stringify(bad.issues), /hunter2/);
    assert.ok(!redis({ url: 'http://redis.internal' }).ok);
  });

  it('any URL string: valid or a clear issue, never a throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.webUrl().map((u) => u.replace(/^https?/, 'redis')),
        ),
        (url) => {
          const r = redis({ url });
          if (!r.ok) assert.ok(r.issues.every((i) => i.message.length > 0 && i.path.startsWith('state.redis')));
        },
      ),
    );
  });

  it('credentials come from the environment; TLS for rediss://; where-strings never carry them', () => {
    const cfg = redis({ url: 'rediss://redis.internal:6380', passwordEnv: 'RP', usernameEnv: 'RU' });
    assert.ok(cfg.ok && cfg.config.state.redis);
    const o = redisOptions(cfg.config.state.redis, { RP: 'secret-pw', RU: 'team' });
    assert.equal(o.password, 'secret-pw');
    assert.equal(o.username, 'team');
    assert.ok(typeof o.tls === 'object');
    assert.equal(o.tls.rejectUnauthorized, true);
    assert.equal(o.enableOfflineQueue, false);
    assert.equal(redisWhere(cfg.config.state.redis), 'rediss://redis.internal:6380');
  });
});

describe('LocalBucket', () => {
  it('never lets more than capacity + refill through in any span of time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 300 }),
        (perMinute, gaps) => {
          let now = 0;
          const b = new LocalBucket(perMinute, now);
          let taken = 0;
          for (const g of gaps) {
            now += g;
            const r = b.take(1, now);
            if (r.ok) taken++;
            else assert.ok(r.retryAfterMs > 0);
          }
          assert.ok(taken <= perMinute + Math.floor((now * perMinute) / MINUTE_MS) + 1);
        },
      ),
    );
  });

  it('tokens counted afterwards go into debt, and the next request waits it out', () => {
    const b = new LocalBucket(600, 0);
    assert.ok(b.take(1000, 0, true).ok);
    const r = b.take(0, 0);
    assert.equal(r.ok, false);
    assert.equal(r.retryAfterMs, 40_000);
    assert.ok(b.take(0, 40_000).ok);
  });
});
