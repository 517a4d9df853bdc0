// Team state on Redis (docs/team.md): the SharedHealth the core sees, backed by keys (the current
// opening or pause of each model, the probe lease, health-window counters) and one pub/sub channel
// that carries every change to the other daemons. Without `state.redis`, or while Redis is away, every
// method answers "local" and the daemon runs on its own state; when Redis returns, this daemon pushes
// what it learnt meanwhile and reads what the others did (resync). Nothing here is awaited by a request.
import crypto from 'node:crypto';
import type Redis from 'ioredis';
import type { RedisStateConfig } from '../../protocol/config';
import type { ProbeLease, SharedCircuitEvent, SharedHealth } from '../core/sharedHealth';
import type { Logger } from '../core/types';
import { connectRedis, redisWhere } from './redisClient';

/** How long the team keeps a model's success/failure counts after its last call. */
export const HEALTH_WINDOW_TTL_MS = 10 * 60_000;
/** A key outlives its deadline by this much, so a daemon whose clock lags a little still reads it. */
const KEY_GRACE_MS = 1000;

interface Message {
  from: string;
  model: string;
  ev: SharedCircuitEvent;
}

type Lease = { kind: 'mine' | 'theirs'; until: number } | { kind: 'asking' };

export interface TeamStateDeps {
  logger: Logger;
  now(): number;
  /** Apply what another daemon learnt (HealthRegistry.applyShared). */
  onRemote(model: string, ev: SharedCircuitEvent): void;
  /** Longest a probe may hold the shared lease (a request's timeout): a crashed holder frees it then. */
  probeLeaseMs(): number;
}

const RELEASE_LUA = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

export class TeamState implements SharedHealth {
  readonly id = crypto.randomUUID();
  private cfg: RedisStateConfig | undefined;
  private cmd: Redis | undefined;
  private sub: Redis | undefined;
  private ready = false;
  private warned = false;
  private readonly leases = new Map<string, Lease>();
  /** Local openings and pauses made while Redis was away: pushed when it returns. */
  private readonly unsent = new Map<string, SharedCircuitEvent[]>();
  private readyListeners: Array<() => void> = [];

  constructor(private readonly deps: TeamStateDeps) {}

  /** Connect to (or leave) the configured Redis; a change of URL or prefix reconnects. */
  apply(cfg: RedisStateConfig | undefined): void {
    if (JSON.stringify(cfg) === JSON.stringify(this.cfg)) return;
    void this.close();
    this.cfg = cfg;
    if (!cfg) return;
    const cmd = connectRedis(cfg);
    const sub = cmd.duplicate();
    this.cmd = cmd;
    this.sub = sub;
    const down = (e: unknown) => this.down(cfg, e);
    cmd.on('error', down);
    sub.on('error', down);
    cmd.on('close', () => this.setReady(false));
    sub.on('close', () => this.setReady(false));
    sub.on('message', (_channel: string, text: string) => this.onMessage(text));
    const up = () => {
      if (cmd.status === 'ready' && sub.status === 'ready') void this.resync(cfg);
    };
    cmd.on('ready', up);
    sub.on('ready', () => {
      sub.subscribe(this.channel(cfg)).then(up, down);
    });
  }

  /** Whether team state is live right now (configured and connected). */
  get connected(): boolean {
    return this.ready;
  }

  /** Resolves once connected and synchronised (tests, startup logs); rejects after `ms`. */
  whenReady(ms: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`team state: no Redis within ${ms} ms`)), ms);
      this.readyListeners.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** The command connection while it is usable (rate limits share it). */
  client(): { redis: Redis; prefix: string } | undefined {
    return this.ready && this.cmd && this.cfg ? { redis: this.cmd, prefix: this.cfg.prefix } : undefined;
  }

  publish(model: string, ev: SharedCircuitEvent): void {
    if (ev.type !== 'cooling') this.leases.delete(model);
    const cfg = this.cfg;
    if (!cfg) return;
    if (!this.ready || !this.cmd) {
      if (ev.type !== 'closed') this.unsent.set(model, [...(this.unsent.get(model) ?? []), ev].slice(-4));
      return;
    }
    void this.send(this.cmd, cfg, model, ev).catch((e: unknown) => this.down(cfg, e));
  }

  probeLease(model: string, take: boolean): ProbeLease {
    const cmd = this.cmd;
    const cfg = this.cfg;
    if (!this.ready || !cmd || !cfg) return 'local';
    const now = this.deps.now();
    const l = this.leases.get(model);
    if (l?.kind === 'asking') return 'busy';
    if (l && l.until > now) return l.kind === 'mine' ? 'granted' : 'busy';
    if (!take) return 'local';
    // Asking takes one round trip: this call is refused, the next one (from this daemon, if it won) probes.
    this.leases.set(model, { kind: 'asking' });
    const leaseMs = this.deps.probeLeaseMs();
    const key = this.key(cfg, 'probe', model);
    cmd
      .set(key, this.id, 'PX', leaseMs, 'NX')
      .then(async (ok) => {
        if (ok === 'OK') return this.leases.set(model, { kind: 'mine', until: this.deps.now() + leaseMs });
        const left = await cmd.pttl(key);
        this.leases.set(model, { kind: 'theirs', until: this.deps.now() + Math.max(0, left) });
      })
      .catch((e: unknown) => {
        this.leases.delete(model);
        this.down(cfg, e);
      });
    return 'busy';
  }

  releaseProbe(model: string): void {
    const l = this.leases.get(model);
    if (l?.kind !== 'mine') return;
    this.leases.delete(model);
    const cmd = this.cmd;
    const cfg = this.cfg;
    if (!this.ready || !cmd || !cfg) return;
    cmd.eval(RELEASE_LUA, 1, this.key(cfg, 'probe', model), this.id).catch((e: unknown) => this.down(cfg, e));
  }

  count(model: string, ok: boolean): void {
    const cmd = this.cmd;
    const cfg = this.cfg;
    if (!this.ready || !cmd || !cfg) return;
    const key = this.key(cfg, 'window', model);
    cmd
      .multi()
      .hincrby(key, ok ? 'ok' : 'fail', 1)
      .pexpire(key, HEALTH_WINDOW_TTL_MS)
      .exec()
      .catch((e: unknown) => this.down(cfg, e));
  }

  /** The team's success/failure counts for a model (a call with a timeout; undefined without Redis). */
  async window(model: string): Promise<{ ok: number; fail: number } | undefined> {
    const c = this.client();
    if (!c || !this.cfg) return undefined;
    const h = await c.redis.hgetall(this.key(this.cfg, 'window', model));
    return { ok: Number(h.ok ?? 0), fail: Number(h.fail ?? 0) };
  }

  async close(): Promise<void> {
    const { cmd, sub } = this;
    this.cmd = undefined;
    this.sub = undefined;
    this.ready = false;
    this.leases.clear();
    cmd?.disconnect();
    sub?.disconnect();
    await Promise.resolve();
  }

  private async send(cmd: Redis, cfg: RedisStateConfig, model: string, ev: SharedCircuitEvent): Promise<void> {
    const msg = JSON.stringify({ from: this.id, model, ev } satisfies Message);
    const tx = cmd.multi();
    const ttl = ev.type === 'closed' ? 0 : ev.until - this.deps.now() + KEY_GRACE_MS;
    if (ev.type === 'open') tx.set(this.key(cfg, 'circuit', model), JSON.stringify(ev), 'PX', Math.max(1, ttl));
    if (ev.type === 'closed') tx.del(this.key(cfg, 'circuit', model), this.key(cfg, 'cool', model));
    if (ev.type === 'cooling') tx.set(this.key(cfg, 'cool', model), JSON.stringify(ev), 'PX', Math.max(1, ttl));
    tx.publish(this.channel(cfg), msg);
    await tx.exec();
  }

  private onMessage(text: string): void {
    let m: Message;
    try {
      m = JSON.parse(text) as Message;
    } catch {
      return;
    }
    if (m.from === this.id || typeof m.model !== 'string' || !isEvent(m.ev)) return;
    if (m.ev.type !== 'cooling') this.leases.delete(m.model);
    this.deps.onRemote(m.model, m.ev);
  }

  /** Redis is (back) up: push what this daemon learnt meanwhile, then read what the team knows. */
  private async resync(cfg: RedisStateConfig): Promise<void> {
    const cmd = this.cmd;
    if (!cmd) return;
    try {
      const now = this.deps.now();
      for (const [model, evs] of this.unsent) {
        for (const ev of evs) if (ev.type !== 'closed' && ev.until > now) await this.send(cmd, cfg, model, ev);
      }
      this.unsent.clear();
      let n = 0;
      for (const kind of ['circuit', 'cool'] as const) {
        const start = this.key(cfg, kind, '');
        for await (const keys of cmd.scanStream({ match: `${start}*`, count: 200 }) as AsyncIterable<string[]>) {
          if (keys.length === 0) continue;
          const values = await cmd.mget(...keys);
          keys.forEach((k, i) => {
            const ev = parseEvent(values[i]);
            if (ev) {
              n++;
              this.deps.onRemote(k.slice(start.length), ev);
            }
          });
        }
      }
      this.setReady(true);
      if (this.warned)
        this.deps.logger.info(`team state: ${redisWhere(cfg)} is back; resynchronised (${n} shared entries)`);
      else this.deps.logger.info(`team state: sharing circuits and limits through ${redisWhere(cfg)} (${n} entries)`);
      this.warned = false;
    } catch (e) {
      this.down(cfg, e);
    }
  }

  private setReady(ready: boolean): void {
    this.ready = ready;
    if (!ready) {
      this.leases.clear();
      return;
    }
    const ls = this.readyListeners;
    this.readyListeners = [];
    for (const l of ls) l();
  }

  /** A Redis call made elsewhere (rate limits) failed: the same warn-once and reconnect. */
  reportError(e: unknown): void {
    if (this.cfg) this.down(this.cfg, e);
  }

  private down(cfg: RedisStateConfig, e: unknown): void {
    if (cfg !== this.cfg) return;
    this.setReady(false);
    if (this.warned) return;
    this.warned = true;
    const why = e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e);
    this.deps.logger.warn(
      `team state: ${redisWhere(cfg)} unreachable (${why}); going on with this daemon's own health and limits, ` +
        'reconnecting in the background',
    );
  }

  private key(cfg: RedisStateConfig, kind: 'circuit' | 'cool' | 'probe' | 'window', model: string): string {
    return `${cfg.prefix}${kind}:${model}`;
  }

  private channel(cfg: RedisStateConfig): string {
    return `${cfg.prefix}events`;
  }
}

function isEvent(v: unknown): v is SharedCircuitEvent {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  if (e.type === 'closed') return true;
  if (e.type === 'cooling') return typeof e.until === 'number';
  return e.type === 'open' && typeof e.until === 'number' && typeof e.opens === 'number';
}

function parseEvent(text: string | null | undefined): SharedCircuitEvent | undefined {
  if (!text) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return isEvent(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
