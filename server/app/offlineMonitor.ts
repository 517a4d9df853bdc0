// Offline mode, wired: the pure OfflineTracker (server/core/offline.ts) fed by the engine's attempts,
// asked by the engine before each cloud call, probing with a bare TCP connect (no request, no key), and
// reading the OS network state from node:os, cached so the request path never pays for it.
import net from 'node:net';
import os from 'node:os';
import type { Config } from '../../protocol/config';
import type { Attempt, Status } from '../../protocol/types';
import type { ResolvedModel } from '../core/engine';
import { networkCodeOfMessage, OfflineTracker, originOf } from '../core/offline';
import type { Clock } from '../core/types';
import { WIRE_FORMATS } from '../providers/wireFormats';

/** A probe that has not connected by then counts as failed. */
const PROBE_TIMEOUT_MS = 2000;
/** How long one look at the network interfaces is trusted. */
const INTERFACES_TTL_MS = 1000;

export class OfflineMonitor {
  private readonly tracker: OfflineTracker;
  private interfaces = { at: Number.NEGATIVE_INFINITY, up: true };

  constructor(
    private readonly clock: Clock,
    private readonly config: () => Config,
    private readonly resolve: (modelId: string) => ResolvedModel | undefined,
    onChange: () => void,
  ) {
    this.tracker = new OfflineTracker({
      clock,
      probe: (origin) => probeOrigin(origin, PROBE_TIMEOUT_MS),
      hasNetwork: () => this.hasNetwork(),
      onChange,
    });
  }

  /** EngineDeps.unavailable: the reason a cloud model's host cannot be reached now. */
  unavailable(model: ResolvedModel): { kind: 'network'; message: string } | undefined {
    if (model.kind !== 'cloud') return undefined;
    const origin = this.originOf(model.provider.id);
    const message = origin === undefined ? undefined : this.tracker.unavailable(origin);
    return message === undefined ? undefined : { kind: 'network', message };
  }

  /** Every attempt the engine records: network failures and successes of cloud models. */
  onAttempt(a: Attempt): void {
    if (a.outcome !== 'success' && (a.outcome !== 'error' || a.failure !== 'network')) return;
    const model = this.resolve(a.model);
    if (!model || model.kind !== 'cloud') return;
    const origin = this.originOf(model.provider.id);
    if (origin === undefined) return;
    if (a.outcome === 'success') this.tracker.noteSuccess(origin);
    else this.tracker.noteFailure(origin, networkCodeOfMessage(a.message ?? ''));
  }

  status(): Status['offline'] {
    const v = this.tracker.view();
    if (!v) return undefined;
    return {
      network: v.network,
      hosts: v.hosts,
      since: new Date(v.since).toISOString(),
      reason: v.reason,
      ...(v.nextProbeAt === undefined ? {} : { nextProbeAt: new Date(v.nextProbeAt).toISOString() }),
    };
  }

  dispose(): void {
    this.tracker.dispose();
  }

  private originOf(providerId: string): string | undefined {
    const p = this.config().providers.find((x) => x.id === providerId);
    if (!p || p.type === 'local') return undefined;
    const base = p.baseUrl ?? WIRE_FORMATS[p.type].defaultBaseUrl;
    return base === undefined ? undefined : originOf(base);
  }

  private hasNetwork(): boolean {
    const now = this.clock.now();
    if (now - this.interfaces.at < INTERFACES_TTL_MS) return this.interfaces.up;
    this.interfaces = { at: now, up: externalInterfaceUp() };
    return this.interfaces.up;
  }
}

/** Any interface besides loopback with an address (the OS's own idea of "connected"). */
function externalInterfaceUp(): boolean {
  try {
    return Object.values(os.networkInterfaces()).some((list) => (list ?? []).some((i) => !i.internal));
  } catch {
    return true;
  }
}

/** One TCP connect to the origin's host and port, closed at once: true when it connected. */
function probeOrigin(origin: string, timeoutMs: number): Promise<boolean> {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return Promise.resolve(false);
  }
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
