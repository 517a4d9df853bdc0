// What the machine has: CPU, load, memory, GPUs and VRAM, from `systeminformation` (loaded on the first
// refresh) and node:os (CPU load). Its calls take 30 ms to 0.5 s and spawn shell commands, so they run on
// a timer and callers read the cached snapshot: nothing on a request path ever waits for the OS.
import * as os from 'node:os';
import type { Systeminformation } from 'systeminformation';
import type { GpuInfo, SystemSnapshot } from '../../protocol/types';

export const SYSTEM_REFRESH_MS = 5_000;
/**
 * The daemon takes its first snapshot this long after it starts: the shell commands fork the daemon's
 * process (tens of ms of CPU each at its size), which would otherwise compete with its first answers.
 */
export const SYSTEM_FIRST_SNAPSHOT_DELAY_MS = 2_000;

type SiModule = typeof import('systeminformation');
let siModule: Promise<SiModule> | undefined;
/**
 * `systeminformation` is loaded on the first refresh, not at startup (it is large and the daemon answers
 * first). It is CommonJS: a plain deferred require, so the daemon's bundle holds no dynamic import()
 * and can start from V8's code cache (server/cliLoader.ts).
 */
function loadSi(): Promise<SiModule> {
  siModule ??= new Promise<SiModule>((resolve) => resolve(module.require('systeminformation') as SiModule)).catch(
    (e: unknown) => {
      siModule = undefined;
      throw e;
    },
  );
  return siModule;
}
const BYTES_PER_MB = 1024 * 1024;
const GPU_STATIC_REFRESH_MS = 60_000;

export interface SystemMonitorOptions {
  refreshMs?: number;
  /** Called after each successful refresh (the monitor session samples here). */
  onUpdate?: (s: SystemSnapshot) => void;
  /** monitorVram: ask the GPUs for free VRAM on every refresh (else once a minute, like a static list). */
  pollVram?: () => boolean;
}

type CpuStatic = Omit<SystemSnapshot['cpu'], 'loadPercent'>;

export class SystemMonitor {
  private readonly refreshMs: number;
  private current: SystemSnapshot;
  private timer: ReturnType<typeof setInterval> | undefined;
  private refreshing: Promise<void> | undefined;
  private cpuStatic: CpuStatic | undefined;
  private stopped = false;
  private gpus: GpuInfo[] | undefined;
  private gpusDynamic = false;
  private gpusAt = 0;
  private readonly load = new CpuLoad();

  constructor(private readonly opts: SystemMonitorOptions = {}) {
    this.refreshMs = opts.refreshMs ?? SYSTEM_REFRESH_MS;
    this.current = fallbackSnapshot();
  }

  /** Take the first real snapshot, then keep refreshing. Never rejects: on failure the node:os view stays. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.refresh();
    if (this.stopped || this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  /** start() after `delayMs` (unless stopped before); the node:os view serves until then. */
  startAfter(delayMs: number): void {
    this.stopped = false;
    const t = setTimeout(() => {
      if (!this.stopped) void this.start();
    }, delayMs);
    t.unref();
  }

  /** The latest snapshot; before start() finishes, a cheap one from node:os (no GPUs known). */
  snapshot(): SystemSnapshot {
    return structuredClone(this.current);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One refresh at a time; a tick that finds one running skips. */
  refresh(): Promise<void> {
    this.refreshing ??= this.collect().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async collect(): Promise<void> {
    try {
      const si = await loadSi();
      // The CPU's model and core counts do not change: ask once.
      const cpu = (this.cpuStatic ??= toCpu(await si.cpu()));
      // GPUs are asked for (several shell commands: lspci, nvidia-smi, clinfo, …) on every refresh only
      // when one reports free VRAM, which changes, and monitorVram is on; otherwise the list is static: once a minute.
      const askGpus =
        this.gpus === undefined ||
        (this.gpusDynamic && (this.opts.pollVram?.() ?? true)) ||
        Date.now() - this.gpusAt >= GPU_STATIC_REFRESH_MS;
      const [mem, graphics] = await Promise.all([
        si.mem(),
        askGpus
          ? si.graphics().catch(() => ({ controllers: [] as Systeminformation.GraphicsControllerData[] }))
          : undefined,
      ]);
      if (graphics) {
        this.gpus = graphics.controllers.map(toGpu);
        this.gpusDynamic = this.gpus.some((g) => g.vramFreeBytes !== undefined);
        this.gpusAt = Date.now();
      }
      const load = this.load.sample();
      this.current = {
        platform: process.platform,
        cpu: { ...cpu, loadPercent: roundTo(load ?? this.current.cpu.loadPercent, 1) },
        memory: { totalBytes: mem.total, availableBytes: mem.available },
        gpus: this.gpus ?? [],
        at: new Date().toISOString(),
      };
      this.opts.onUpdate?.(this.snapshot());
    } catch {
      // Keep the previous snapshot; an OS query failing once is not worth a crash or a log flood.
    }
  }
}

/** systeminformation reports VRAM in MB: `memoryTotal/Free` from nvidia-smi when present, else `vram`. */
export function toGpu(c: Systeminformation.GraphicsControllerData): GpuInfo {
  const totalMb = positive(c.memoryTotal) ?? positive(c.vram ?? undefined);
  const freeMb = c.memoryFree !== undefined && c.memoryFree >= 0 ? c.memoryFree : undefined;
  return {
    vendor: c.vendor || 'unknown',
    model: c.model || c.name || 'unknown',
    ...(totalMb !== undefined ? { vramTotalBytes: totalMb * BYTES_PER_MB } : {}),
    ...(freeMb !== undefined ? { vramFreeBytes: freeMb * BYTES_PER_MB } : {}),
  };
}

function toCpu(c: Systeminformation.CpuData): CpuStatic {
  const cpu: CpuStatic = {
    brand: [c.manufacturer, c.brand].filter(Boolean).join(' ') || (os.cpus()[0]?.model ?? 'unknown'),
    cores: c.cores || os.cpus().length,
  };
  if (c.physicalCores) cpu.physicalCores = c.physicalCores;
  return cpu;
}

/** CPU load in % from node:os counters between two samples (the first: since boot); no process spawned. */
export class CpuLoad {
  private last: { idle: number; total: number } | undefined;
  sample(): number | undefined {
    let idle = 0;
    let total = 0;
    for (const c of os.cpus()) {
      const t = c.times;
      idle += t.idle;
      total += t.user + t.nice + t.sys + t.idle + t.irq;
    }
    const prev = this.last ?? { idle: 0, total: 0 };
    this.last = { idle, total };
    const dt = total - prev.total;
    return dt > 0 ? Math.min(100, Math.max(0, (100 * (dt - (idle - prev.idle))) / dt)) : undefined;
  }
}

/** Free VRAM across GPUs that report it (undefined when none does: an unknown, not a zero). */
export function freeVramBytes(s: SystemSnapshot): number | undefined {
  const known = s.gpus.map((g) => g.vramFreeBytes).filter((v): v is number => v !== undefined);
  return known.length ? Math.max(...known) : undefined;
}

function fallbackSnapshot(): SystemSnapshot {
  const cpus = os.cpus();
  return {
    platform: process.platform,
    cpu: { brand: cpus[0]?.model ?? 'unknown', cores: cpus.length, loadPercent: 0 },
    memory: { totalBytes: os.totalmem(), availableBytes: os.freemem() },
    gpus: [],
  };
}

function positive(v: number | undefined): number | undefined {
  return v !== undefined && v > 0 ? v : undefined;
}

function roundTo(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
