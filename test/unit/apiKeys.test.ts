// Per-user API keys (issue 20): keys.json parsing (property: any text gives entries or a KeysFileError,
// never another failure), issue and revoke on disk (only the hash is stored), the daemon's KeyRing
// following the file, and the auth rules of a gateway served beyond loopback.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  addKey,
  keyDigest,
  KeyRing,
  KeysFileError,
  parseKeys,
  readKeys,
  revokeKey,
  KEYS_FILE,
} from '../../server/state/apiKeys';
import { boundHostNames, checkHost, checkRequest, isLoopbackAddress } from '../../server/transports/auth';
import { fuzzOptions } from '../helpers/fuzz';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-keys-'));

function req(headers: Record<string, string>, remoteAddress: string): IncomingMessage {
  return { headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

describe('keys.json', () => {
  it('property: any text parses to valid entries or fails with a KeysFileError naming the file', () => {
    const entry = fc.record({
      name: fc.oneof(fc.string(), fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/)),
      sha256: fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-f]{64}$/)),
      createdAt: fc.anything(),
      hint: fc.anything(),
    });
    const text = fc.oneof(
      fc.string(),
      fc.json(),
      fc.record({ keys: fc.array(fc.oneof(entry, fc.anything())) }).map((v) => JSON.stringify(v)),
    );
    fc.assert(
      fc.property(text, (t) => {
        try {
          const keys = parseKeys(t, 'K.json');
          for (const k of keys) {
            assert.match(k.sha256, /^[0-9a-f]{64}$/);
            assert.equal(typeof k.name, 'string');
          }
          assert.equal(new Set(keys.map((k) => k.name)).size, keys.length, 'names are unique');
        } catch (e) {
          assert.ok(e instanceof KeysFileError, String(e));
          assert.match(e.message, /K\.json/);
        }
      }),
      fuzzOptions(),
    );
  });

  it('add stores only the hash (mode 0600); the key is returned once; revoke removes it', () => {
    const dir = tmp();
    const { key, entry } = addKey(dir, 'alice', new Date('2026-12-05T00:00:00Z'), (n) => Buffer.alloc(n, 7));
    assert.match(key, /^bsk_[A-Za-z0-9_-]{43}$/);
    const text = fs.readFileSync(path.join(dir, KEYS_FILE), 'utf8');
    assert.ok(!text.includes(key), 'the key is not in the file');
    assert.equal(entry.sha256, keyDigest(key));
    assert.equal(fs.statSync(path.join(dir, KEYS_FILE)).mode & 0o777, 0o600);
    assert.throws(() => addKey(dir, 'alice'), /exists already: revoke it first/);
    assert.throws(() => addKey(dir, 'no spaces'), /not valid/);
    addKey(dir, 'bob');
    assert.deepEqual(
      readKeys(dir).map((k) => k.name),
      ['alice', 'bob'],
    );
    assert.equal(revokeKey(dir, 'alice'), true);
    assert.equal(revokeKey(dir, 'alice'), false);
    assert.deepEqual(
      readKeys(dir).map((k) => k.name),
      ['bob'],
    );
  });

  it('KeyRing: a key maps to its name; after a revoke and a reload it maps to nothing; a broken file accepts none', async () => {
    const dir = tmp();
    const a = addKey(dir, 'alice').key;
    const b = addKey(dir, 'bob').key;
    const ring = new KeyRing(dir, quiet);
    assert.equal(ring.lookup(a), 'alice');
    assert.equal(ring.lookup(b), 'bob');
    assert.equal(ring.lookup(a.slice(0, -1) + (a.endsWith('A') ? 'B' : 'A')), undefined);
    revokeKey(dir, 'alice');
    await ring.reload();
    assert.equal(ring.lookup(a), undefined);
    assert.equal(ring.lookup(b), 'bob');
    fs.writeFileSync(path.join(dir, KEYS_FILE), '{"keys": [');
    await ring.reload();
    assert.equal(ring.lookup(b), undefined, 'fail closed');
    assert.throws(() => new KeyRing(dir, quiet), KeysFileError);
  });
});

describe('auth beyond loopback', () => {
  const keys = { lookup: (k: string) => (k === 'bsk_good' ? 'alice' : undefined) };
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  it('a key is accepted from anywhere and named; the daemon token only from this machine', () => {
    const creds = { token: 'daemon-token-0123456789', keys };
    assert.deepEqual(checkRequest(req(bearer('bsk_good'), '203.0.113.9'), creds, []), { ok: true, key: 'alice' });
    assert.deepEqual(checkRequest(req(bearer('daemon-token-0123456789'), '127.0.0.1'), creds, []), { ok: true });
    assert.deepEqual(checkRequest(req(bearer('daemon-token-0123456789'), '::ffff:127.0.0.1'), creds, []), {
      ok: true,
    });
    const remote = checkRequest(req(bearer('daemon-token-0123456789'), '203.0.113.9'), creds, []);
    assert.equal(remote.ok, false);
    assert.equal(!remote.ok && remote.status, 401);
    assert.equal(checkRequest(req(bearer('bsk_revoked'), '127.0.0.1'), creds, []).ok, false);
  });

  it('on loopback alone the daemon token works as before and no key is looked up', () => {
    const creds = { token: 'daemon-token-0123456789' };
    assert.deepEqual(checkRequest(req(bearer('daemon-token-0123456789'), '127.0.0.1'), creds, []), { ok: true });
    assert.equal(checkRequest(req(bearer('bsk_good'), '127.0.0.1'), creds, []).ok, false);
  });

  it('loopback addresses, and the Host names a bound address accepts', () => {
    for (const a of ['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost']) assert.ok(isLoopbackAddress(a), a);
    for (const a of ['0.0.0.0', '::', '192.168.1.5', 'team.example', '128.0.0.1']) assert.ok(!isLoopbackAddress(a), a);
    assert.deepEqual(boundHostNames('192.168.1.5'), ['192.168.1.5']);
    assert.deepEqual(boundHostNames('FD00::2'), ['[fd00::2]']);
    const all = boundHostNames('0.0.0.0');
    assert.ok(all.includes('127.0.0.1') && all.includes(os.hostname().toLowerCase()));
    const host = (h: string) => ({ headers: { host: h } }) as unknown as IncomingMessage;
    assert.ok(checkHost(host('192.168.1.5:8787'), 8787, [], ['192.168.1.5']).ok);
    assert.ok(!checkHost(host('192.168.1.5:8788'), 8787, [], ['192.168.1.5']).ok);
    assert.ok(!checkHost(host('evil.example:8787'), 8787, [], ['192.168.1.5']).ok);
  });
});
