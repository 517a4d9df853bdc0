// The providers' HTTP client: node:http(s) requests over keep-alive agents, not the global fetch.
// Every request through the gateway makes one upstream call, so this is the daemon's hottest path:
// fetch (undici inside Node 20) spends about three times the CPU per request on web streams, request
// clones and signal plumbing (bench/: `npm run bench`, issue 21). The answer is read as Node streams;
// leaving the body early (the answer was complete before the server closed it) drains the rest in
// the background so the connection goes back to the pool.
import http from 'node:http';
import https from 'node:https';
import { urlToHttpOptions } from 'node:url';

/** A lingering body (no end after a complete answer) is dropped after this long. */
const LINGER_MS = 2_000;
/**
 * An idle kept-alive connection is closed after this long (sooner when the server's Keep-Alive
 * header says so), before a server closes it under a request: Node's own server closes at 5 s.
 */
const IDLE_SOCKET_MS = 4_000;

const agentOptions = { keepAlive: true, scheduling: 'lifo', timeout: IDLE_SOCKET_MS } as const;
const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };
const clients = { 'http:': http, 'https:': https };

/** Response headers by (case-insensitive) name, as `Headers.get` reads them. */
export interface HeaderReader {
  get(name: string): string | null;
}

export interface WireResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly url: string;
  readonly headers: HeaderReader;
  /** The body as it arrives; leaving the loop early releases the connection. */
  readonly body: AsyncIterable<Uint8Array> | null;
  /** The whole body as text. */
  text(): Promise<string>;
}

export interface WireRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

/** Thrown before the network for a URL no request can be made to. */
export class BadUrlError extends Error {}

/**
 * One request. Rejects with Node's own error (its `code` names the network failure) or the abort
 * reason; the caller classifies. A reset is never retried here: the engine is the only retry loop.
 */
export function wireRequest(url: string, init: WireRequest, signal: AbortSignal): Promise<WireResponse> {
  let target: Target;
  try {
    target = parsed(url);
  } catch {
    return Promise.reject(new BadUrlError(`invalid URL "${url}"`));
  }
  const protocol = target.protocol;
  if (protocol !== 'http:' && protocol !== 'https:')
    return Promise.reject(new BadUrlError(`unsupported URL scheme "${protocol}" in "${url}": use http or https`));
  if (signal.aborted) return Promise.reject(signal.reason as unknown);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    const options = { ...target.options, method: init.method, headers, agent: agents[protocol] };
    const req = clients[protocol].request(options, (res) => resolve(wireResponse(target.href, res)));
    // The signal is followed here rather than through the `signal` option (whose end-of-stream
    // plumbing cost more than the rest of the call): an abort destroys the request, and with it a body
    // being read; the listener goes when the request closes.
    const onAbort = (): void => void req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => signal.removeEventListener('abort', onAbort));
    // `on`, not `once`: an abort while the rest of a body drains (see release) errors the request again,
    // and an 'error' nobody listens to would crash the daemon.
    req.on('error', (e) => reject(signal.aborted ? (signal.reason as unknown) : e));
    req.end(init.body);
  });
}

/** A URL as node:http reads it, made once per URL. */
interface Target {
  protocol: string;
  href: string;
  options: http.RequestOptions;
}

/** Every request of a provider goes to the same few URLs: parse each once. */
const urls = new Map<string, Target>();
const MAX_CACHED_URLS = 256;

function parsed(url: string): Target {
  let t = urls.get(url);
  if (t === undefined) {
    const u = new URL(url);
    t = { protocol: u.protocol, href: u.href, options: urlToHttpOptions(u) };
    if (urls.size >= MAX_CACHED_URLS) urls.clear();
    urls.set(url, t);
  }
  return t;
}

function wireResponse(url: string, res: http.IncomingMessage): WireResponse {
  const status = res.statusCode ?? 0;
  // Readers see a broken body through their own listeners; this one keeps a body nobody reads any more
  // (drained after a complete answer, then reset or aborted) from crashing the daemon with its error.
  res.on('error', ignore);
  const body: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]() {
      const it = res.iterator({ destroyOnReturn: false }) as AsyncIterator<Uint8Array>;
      return {
        next: () => it.next(),
        return: async () => {
          await it.return?.();
          release(res);
          return { done: true, value: undefined };
        },
      };
    },
  };
  return {
    status,
    ok: status >= 200 && status < 300,
    url,
    headers: { get: (name) => headerValue(res.headers[name.toLowerCase()]) },
    body,
    text: () => readAll(res),
  };
}

function ignore(): void {}

function headerValue(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(', ') : v;
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
    res.once('close', () => {
      if (!res.complete) reject(Object.assign(new Error('the connection closed mid-body'), { code: 'ECONNRESET' }));
    });
  });
}

/** The answer is complete but the body is not: read the rest away (the socket is reused), or drop it. */
function release(res: http.IncomingMessage): void {
  if (res.complete || res.destroyed) return;
  const timer = setTimeout(() => res.destroy(), LINGER_MS);
  timer.unref();
  res.once('close', () => clearTimeout(timer));
  res.resume();
}
