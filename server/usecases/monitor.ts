// The monitoring use case: one session at a time that samples health, CPU, memory and VRAM on an
// interval until its duration ends or it is stopped. Time comes from the injected clock.
import type { MonitorSample } from '../../protocol/types';
import type { Clock } from '../core/types';
import type { Services } from '../app/services';

export const MONITOR_DEFAULT_INTERVAL_MS = 1000;

interface Session {
  samples: MonitorSample[];
  end: number;
  intervalMs: number;
  timer: unknown;
}

export class MonitorService {
  private session: Session | undefined;
  /** The session that ended last: its samples stay readable through get(). */
  private last: Session | undefined;

  constructor(
    private readonly s: Services,
    private readonly clock: Clock,
  ) {}

  /** Start a new session (ending any running one); answers with the first sample. */
  start(durationS: number, intervalMs = MONITOR_DEFAULT_INTERVAL_MS): { samples: MonitorSample[]; running: boolean } {
    this.stop();
    const session: Session = { samples: [], end: this.clock.now() + durationS * 1000, intervalMs, timer: undefined };
    this.session = session;
    this.take(session);
    return { samples: session.samples, running: session.timer !== undefined };
  }

  /** The samples of the running session so far (or of the last one, which stays readable after it ends). */
  get(): { samples: MonitorSample[]; running: boolean } {
    const session = this.session ?? this.last;
    return {
      samples: session?.samples ?? [],
      running: !!session && session === this.session && session.timer !== undefined,
    };
  }

  /** Stop the session; answers with the samples taken so far. */
  stop(): { samples: MonitorSample[]; running: boolean } {
    const session = this.session;
    this.session = undefined;
    if (session) this.last = session;
    if (session?.timer !== undefined) this.clock.clearTimeout(session.timer);
    if (session) session.timer = undefined;
    return { samples: session?.samples ?? [], running: false };
  }

  private take(session: Session): void {
    session.timer = undefined;
    const sys = this.s.systemSnapshot();
    const vram = sys.gpus.reduce((a, g) => a + (g.vramFreeBytes ?? 0), 0);
    session.samples.push({
      at: new Date(this.clock.now()).toISOString(),
      healthScore: this.s.healthReport().score,
      cpuLoadPercent: sys.cpu.loadPercent,
      memAvailableBytes: sys.memory.availableBytes,
      ...(sys.gpus.length ? { vramFreeBytes: vram } : {}),
    });
    if (this.clock.now() >= session.end || this.session !== session) return;
    const timer = this.clock.setTimeout(() => this.take(session), session.intervalMs);
    // A monitoring session never keeps the daemon alive on its own.
    (timer as { unref?: () => void } | undefined)?.unref?.();
    session.timer = timer;
  }
}
