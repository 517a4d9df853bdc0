// Offline mode. With the network down, every cloud model would otherwise get its full retries with
// backoff before a local model answers. One network-level failure (no route, no DNS, no interface)
// marks every cloud host offline at once; a refused connection marks its own host. Offline hosts are
// skipped without a call, and one cheap probe at a growing interval finds the way back. Pure: the
// clock, the probe and the OS network check are injected.
import type { Clock } from './types';

/**
 * Failures that say the machine has no network: every cloud host is offline. (With the network down,
 * DNS answers EAI_AGAIN; ENOTFOUND is a name that does not exist, which says nothing about other hosts.)
 */
export const NETWORK_DOWN_CODES: ReadonlySet<string> = new Set(['ENETUNREACH', 'EAI_AGAIN', 'ENETDOWN']);
/** Failures that say one host cannot be reached: that host is offline. */
export const HOST_DOWN_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENOTFOUND']);

/** First probe this long after going offline; each failed probe doubles it up to the maximum. */
export const OFFLINE_PROBE_FIRST_MS = 1000;
export const OFFLINE_PROBE_MAX_MS = 30_000;

export interface OfflineDeps {
  clock: Clock;
  /** One cheap attempt to reach `origin` (a TCP connect): true when it answered. */
  probe(origin: string): Promise<boolean>;
  /** The OS view: false when no network interface but loopback is up. */
  hasNetwork(): boolean;
  /** The offline state changed (to tell the status bar). */
  onChange?(): void;
}

export interface OfflineView {
  /** Every cloud host is offline (the network is down), not only some hosts. */
  network: boolean;
  /** The hosts that are offline (all cloud hosts seen so far when the network is down). */
  hosts: string[];
  since: number;
  reason: string;
  nextProbeAt: number | undefined;
}

interface Down {
  since: number;
  reason: string;
  intervalMs: number;
  timer: unknown;
  nextProbeAt: number | undefined;
}

const NETWORK = '*';

export class OfflineTracker {
  /** Offline marks by origin; NETWORK for the whole network. */
  private readonly down = new Map<string, Down>();
  private readonly seen = new Set<string>();
  private disposed = false;

  constructor(private readonly deps: OfflineDeps) {}

  /** Why a call to a cloud model at `origin` is pointless now, or undefined when it may be made. */
  unavailable(origin: string): string | undefined {
    if (isLoopback(origin)) return this.down.get(origin)?.reason;
    this.seen.add(origin);
    if (!this.down.has(NETWORK) && !this.deps.hasNetwork()) this.mark(NETWORK, 'offline: no network interface is up');
    return (this.down.get(NETWORK) ?? this.down.get(origin))?.reason;
  }

  /** A call to `origin` failed at the network level with this system error code. */
  noteFailure(origin: string, code: string | undefined): void {
    if (code === undefined) return;
    if (NETWORK_DOWN_CODES.has(code) && !isLoopback(origin)) this.mark(NETWORK, `offline: ${describe(code)}`, origin);
    else if (HOST_DOWN_CODES.has(code) || NETWORK_DOWN_CODES.has(code))
      this.mark(origin, `offline: ${describe(code)} (${origin})`);
  }

  /** `origin` answered: it is reachable, and so is the network when it is a remote host. */
  noteSuccess(origin: string): void {
    const changed = this.clear(origin) || (!isLoopback(origin) && this.clear(NETWORK));
    if (changed) this.deps.onChange?.();
  }

  view(): OfflineView | undefined {
    if (this.down.size === 0) return undefined;
    const network = this.down.get(NETWORK);
    const first = network ?? [...this.down.values()][0];
    if (!first) return undefined;
    const hosts = network ? [...this.seen] : [...this.down.keys()];
    return {
      network: network !== undefined,
      hosts: hosts.sort(),
      since: first.since,
      reason: first.reason,
      nextProbeAt: first.nextProbeAt,
    };
  }

  dispose(): void {
    this.disposed = true;
    for (const d of this.down.values()) this.deps.clock.clearTimeout(d.timer);
    this.down.clear();
  }

  private mark(key: string, reason: string, probeOrigin = key): void {
    if (this.disposed || this.down.has(key)) return;
    const d: Down = {
      since: this.deps.clock.now(),
      reason,
      intervalMs: OFFLINE_PROBE_FIRST_MS,
      timer: undefined,
      nextProbeAt: undefined,
    };
    this.down.set(key, d);
    this.schedule(key, d, probeOrigin);
    this.deps.onChange?.();
  }

  private schedule(key: string, d: Down, origin: string): void {
    d.nextProbeAt = this.deps.clock.now() + d.intervalMs;
    d.timer = this.deps.clock.setTimeout(() => void this.runProbe(key, d, origin), d.intervalMs);
  }

  private async runProbe(key: string, d: Down, origin: string): Promise<void> {
    if (this.down.get(key) !== d) return;
    let back: boolean;
    try {
      back = (key !== NETWORK || this.deps.hasNetwork()) && (await this.deps.probe(origin));
    } catch {
      back = false;
    }
    if (this.down.get(key) !== d) return;
    if (back) {
      this.clear(key);
      this.deps.onChange?.();
      return;
    }
    d.intervalMs = Math.min(d.intervalMs * 2, OFFLINE_PROBE_MAX_MS);
    this.schedule(key, d, origin);
  }

  private clear(key: string): boolean {
    const d = this.down.get(key);
    if (!d) return false;
    this.deps.clock.clearTimeout(d.timer);
    this.down.delete(key);
    return true;
  }
}

/**
 * Every attempt asks for its provider's origin: parsed once per base URL (a URL parse per request was
 * a measurable part of the gateway's CPU, issue 21). Bounded: cleared when it holds this many.
 */
const ORIGIN_CACHE_MAX = 256;
const origins = new Map<string, string | undefined>();
const loopbacks = new Map<string, boolean>();

function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= ORIGIN_CACHE_MAX) cache.clear();
  cache.set(key, value);
  return value;
}

/** The origin of a provider base URL ("https://api.openai.com"), or undefined for a bad URL. */
export function originOf(url: string): string | undefined {
  if (origins.has(url)) return origins.get(url);
  let origin: string | undefined;
  try {
    origin = new URL(url).origin;
  } catch {
    origin = undefined;
  }
  return remember(origins, url, origin);
}

/** Loopback hosts stay reachable with the network down: a network failure elsewhere says nothing about them. */
export function isLoopback(origin: string): boolean {
  const known = loopbacks.get(origin);
  if (known !== undefined) return known;
  let host: string;
  try {
    host = new URL(origin).hostname;
  } catch {
    return remember(loopbacks, origin, false);
  }
  return remember(loopbacks, origin, host === 'localhost' || host === '[::1]' || /^127\./.test(host));
}

/** The system error code at the end of a provider's network error message: "… (ENETUNREACH)". */
export function networkCodeOfMessage(message: string): string | undefined {
  return /\(([A-Z][A-Z_]+)\)\s*$/.exec(message)?.[1];
}

function describe(code: string): string {
  switch (code) {
    case 'EAI_AGAIN':
      return `DNS lookups fail (${code})`;
    case 'ENOTFOUND':
      return 'DNS has no such host (ENOTFOUND)';
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return `no network route (${code})`;
    case 'ECONNREFUSED':
      return 'connection refused';
    default:
      return `host unreachable (${code})`;
  }
}
