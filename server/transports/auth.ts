// Who may talk to the network listeners: a Host naming this machine's loopback listener (so a
// DNS-rebinding page cannot reach it under its own name), a bearer token (constant-time compare) and,
// when a browser sends an Origin, only allow-listed origins — so a web page cannot drive the daemon.
// Served beyond loopback (`serve --host`), per-user API keys open the gateway and the daemon token
// works only from this machine.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';

/** `key`: the name of the API key that authenticated the request (absent for the daemon token). */
export type AuthResult = { ok: true; key?: string } | { ok: false; status: 401 | 403 | 421; reason: string };

/** Who may call: the daemon token, and on a shared gateway the API keys (name by presented key). */
export interface Credentials {
  token: string;
  /** When set, the listener is reachable beyond loopback: the token only from this machine, else a key. */
  keys?: { lookup(key: string): string | undefined };
}

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

/** Split a Host header into its lower-cased name and port ("" when absent); undefined if malformed. */
export function parseHost(host: string): { name: string; port: string } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:/@[\]]+)(?::(\d{1,5}))?$/.exec(host.trim());
  return m ? { name: m[1]!.toLowerCase(), port: m[2] ?? '' } : undefined;
}

/**
 * Defence in depth against DNS rebinding: the Host must be 127.0.0.1, localhost or [::1] with the
 * bound port, or match an entry of server.allowedHosts ("name" on any port, "name:port" exactly).
 */
export function checkHost(
  req: IncomingMessage,
  boundPort: number,
  allowedHosts: readonly string[],
  boundNames: readonly string[] = [],
): AuthResult {
  const raw = req.headers.host;
  // The messages are made only for a refusal: this runs on every request (issue 21).
  const hint = () =>
    `connect to 127.0.0.1:${boundPort}, localhost:${boundPort} or [::1]:${boundPort}, or add the host to server.allowedHosts`;
  if (!raw) return { ok: false, status: 421, reason: `misdirected request: no Host header; ${hint()}` };
  const refused = (): AuthResult => ({
    ok: false,
    status: 421,
    reason: `misdirected request: Host ${JSON.stringify(raw)} is not this daemon; ${hint()}`,
  });
  const h = parseHost(raw);
  if (!h) return refused();
  // A Host without a port means the scheme's default (80 for http / ws).
  const port = h.port === '' ? '80' : String(Number(h.port));
  if ((LOOPBACK_HOSTS.includes(h.name) || boundNames.includes(h.name)) && port === String(boundPort))
    return { ok: true };
  for (const entry of allowedHosts) {
    const a = parseHost(entry);
    if (a && a.name === h.name && (a.port === '' || String(Number(a.port)) === port)) return { ok: true };
  }
  return refused();
}

export function checkRequest(req: IncomingMessage, creds: Credentials, allowedOrigins: readonly string[]): AuthResult {
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedOrigins.includes(origin)) {
    const reason = `origin ${JSON.stringify(origin)} is not allowed; add it to server.allowedOrigins to permit it`;
    return { ok: false, status: 403, reason };
  }
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
  // Anthropic's clients (Claude Code, older SDKs) send the key as x-api-key instead.
  const apiKey = req.headers['x-api-key'];
  const given = m?.[1] ?? (typeof apiKey === 'string' && apiKey !== '' ? apiKey : undefined);
  const where = creds.keys
    ? 'an API key from "backstop keys add NAME" (or, on this machine, the token from daemon.json in the state dir)'
    : 'the token from daemon.json in the state dir';
  if (!given) {
    const reason = `missing bearer token: send "Authorization: Bearer <token>" or "x-api-key: <token>" with ${where}`;
    return { ok: false, status: 401, reason };
  }
  const name = creds.keys?.lookup(given);
  if (name !== undefined) return { ok: true, key: name };
  if (safeEqual(given, creds.token) && (!creds.keys || isLocalPeer(req.socket.remoteAddress))) return { ok: true };
  return { ok: false, status: 401, reason: `wrong bearer token (or a revoked key): use ${where}` };
}

/** Whether a peer address is this machine: loopback, or one of its own interface addresses. */
export function isLocalPeer(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isLoopbackAddress(a)) return true;
  return Object.values(os.networkInterfaces()).some((list) => list?.some((i) => i.address === a));
}

/** 127.0.0.0/8, ::1 and localhost: the addresses only this machine can reach. */
export function isLoopbackAddress(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return net.isIPv4(h) && h.startsWith('127.');
}

/**
 * The Host names that reach a listener bound to `host`, beyond the loopback ones: the address itself,
 * or for a wildcard (0.0.0.0, ::) every address of this machine and its host name.
 */
export function boundHostNames(host: string): string[] {
  const bracket = (a: string) => (net.isIPv6(a) ? `[${a.toLowerCase()}]` : a.toLowerCase());
  if (host !== '0.0.0.0' && host !== '::') return [bracket(host.replace(/^\[(.*)\]$/, '$1'))];
  const addrs = Object.values(os.networkInterfaces()).flatMap((l) => (l ?? []).map((i) => bracket(i.address)));
  return [...new Set([...addrs, os.hostname().toLowerCase()])];
}

/** The token's bytes, made once per token rather than on every request. */
let expected: { token: string; bytes: Buffer } | undefined;

/**
 * Constant time in the bytes given: a length check (the token's length is no secret, every token has
 * the same) then timingSafeEqual. No digest per request: hashing was a measurable part of the
 * gateway's CPU (issue 21).
 */
function safeEqual(given: string, token: string): boolean {
  if (expected?.token !== token) expected = { token, bytes: Buffer.from(token, 'utf8') };
  const bytes = Buffer.from(given, 'utf8');
  return bytes.length === expected.bytes.length && crypto.timingSafeEqual(bytes, expected.bytes);
}

export function newToken(): string {
  return crypto.randomBytes(24).toString('base64url');
}

/**
 * The bearer token: BACKSTOP_TOKEN if set, else the one kept in <stateDir>/token (mode 0600),
 * created once — so a tool configured with it keeps working across daemon restarts.
 */
export function loadOrCreateToken(stateDir: string): string {
  const fromEnv = process.env.BACKSTOP_TOKEN;
  if (fromEnv && fromEnv.length >= 16) return fromEnv;
  const file = path.join(stateDir, 'token');
  try {
    const t = fs.readFileSync(file, 'utf8').trim();
    if (t.length >= 16) return t;
  } catch {
    // first start
  }
  const t = newToken();
  fs.writeFileSync(file, t, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return t;
}
