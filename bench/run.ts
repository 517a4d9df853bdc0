// `npm run bench`: what the daemon's gateway adds on top of calling the upstream (the project's fault
// server, model `ok`, no chunk delay) directly, measured side by side in one run, interleaved, with a
// noise floor (direct against direct). Prints every target of issue 21 with PASS / FALL SHORT and writes
// bench/results/<timestamp>.json; `tsx bench/report.ts` turns the latest into BENCHMARKS.md.
//
// Knobs (environment): BENCH_AGE_REQUESTS (default 3000; 20000 for the full figure), BENCH_ROUNDS (5),
// BENCH_SEQ (300 one-at-a-time requests per arm), BENCH_BATCH (600 requests per arm and round under
// load), BENCH_CPU_PROF=<dir> (run the main daemon under --cpu-prof, profile written there on exit),
// BENCH_NO_WRITE=1 (print only), BENCH_LOCAL_RUNS (15 measured generations per arm; 0 skips the local
// figure), BENCH_NO_VSCODE=1 (skips the extension-host activation figure), BENCH_WARMUP (3000 requests of
// each kind per arm before the latency figures).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as prettier from 'prettier';
import {
  cpuSeconds,
  type Daemon,
  directTarget,
  gatewayTarget,
  load,
  median,
  nodeBaseline,
  percentiles,
  quantile,
  request,
  round,
  rssMiB,
  type Sample,
  sleep,
  startBareProxy,
  startDaemon,
  startUpstream,
  bareTarget,
  type Target,
} from './lib';
import { localRatio, measureLocal, type LocalResult } from './local';
import { offlineBench } from './offline';

const env = (k: string, d: number): number => {
  const v = Number(process.env[k]);
  return Number.isFinite(v) && v > 0 ? v : d;
};
const AGE = env('BENCH_AGE_REQUESTS', 3000);
const ROUNDS = env('BENCH_ROUNDS', 5);
const SEQ = env('BENCH_SEQ', 300);
const BATCH = env('BENCH_BATCH', 600);
const COLD_REPS = env('BENCH_COLD_REPS', 5);
const LOCAL_RUNS = process.env.BENCH_LOCAL_RUNS === '0' ? 0 : env('BENCH_LOCAL_RUNS', 15);
/** Extension-host starts for the activation figure (its median). */
const ACTIVATION_RUNS = 3;
const WARMUP = env('BENCH_WARMUP', 3000);
const LOCAL_MAX_TOKENS = 128;
/** RSS during startup: read this long after start, after the daemon's first system snapshot (2 s). */
const STARTUP_RSS_AFTER_MS = 3000;
/**
 * Idle RSS: read once the daemon has sat idle this long after start. V8 gives back the young generation
 * it grew while starting (or under load) only once allocation has calmed down for some seconds; the
 * RSS of a daemon that waits for work is this settled one. The same wait applies after the age run.
 */
const SETTLED_RSS_AFTER_MS = 12_000;
/** After the age run: V8's memory reducer starts some seconds after the last full collection. */
const AGED_SETTLE_MS = 20_000;

export interface Figure {
  id: string;
  label: string;
  measured: number;
  unit: string;
  /** The target; `le` means measured ≤ target. */
  target: number;
  cmp: 'le' | 'ge';
  pass: boolean;
  detail: string;
}

export interface Results {
  at: string;
  machine: { cpus: number; model: string; node: string; loadavg: number[] };
  settings: { ageRequests: number; rounds: number; seq: number; batch: number; warmup?: number };
  figures: Figure[];
  series: {
    /** Percentiles 0…100 of whole-answer latency, ms, one at a time and at 8 concurrent. */
    latency1: Record<'direct' | 'directB' | 'gateway', number[]> & { bare?: number[] };
    latency8: Record<'direct' | 'directB' | 'gateway', number[]> & { bare?: number[] };
    firstToken1: Record<'direct' | 'directB' | 'gateway', number[]> & { bare?: number[] };
    /** req/s by concurrency, non-streamed (bare: the bare node:http proxy, bench/bareProxy.ts). */
    throughput: { concurrency: number; direct: number; gateway: number; bare?: number }[];
    /** The age run: requests served so far, RSS (MiB), req/s of the chunk. */
    age: { requests: number; rssMiB: number; rps: number }[];
    coldStart: { nodeMs: number[]; daemonMs: number[] };
    /** Generation tokens/s of each measured run, local GGUF, direct and through Backstop. */
    local?: LocalResult;
    /** The extension's activation in the extension host, ms. */
    activation?: { activationMs: number; loadMs: number; activateMs: number; runs?: number[] };
  };
}

type Arm = { target: Target; samples: Sample[]; ms: number; count: number };
const arm = (target: Target): Arm => ({ target, samples: [], ms: 0, count: 0 });

/** Rotate the order of the arms each round, so no arm always runs first or last. */
function rotated<T>(xs: readonly T[], i: number): T[] {
  return xs.map((_, j) => xs[(i + j) % xs.length]!);
}

async function sequential(arms: Arm[], stream: boolean, n: number): Promise<void> {
  for (let i = 0; i < n; i++)
    for (const a of rotated(arms, i)) {
      const s = await request(a.target, stream);
      a.samples.push(s);
      a.ms += s.ms;
      a.count++;
    }
}

async function concurrent(
  arms: Arm[],
  stream: boolean,
  concurrency: number,
  perRound: number,
  onArm?: (a: Arm, run: () => Promise<void>) => Promise<void>,
): Promise<void> {
  for (let r = 0; r < ROUNDS; r++)
    for (const a of rotated(arms, r)) {
      const run = async (): Promise<void> => {
        const res = await load(a.target, stream, concurrency, perRound);
        a.samples.push(...res.samples);
        a.ms += res.elapsedMs;
        a.count += perRound;
      };
      if (onArm) await onArm(a, run);
      else await run();
    }
}

const rps = (a: Arm): number => (a.count * 1000) / a.ms;
const lat = (a: Arm): number[] => a.samples.map((s) => s.ms);
const ftl = (a: Arm): number[] => a.samples.map((s) => s.firstTokenMs ?? s.ms);

function fig(
  id: string,
  label: string,
  measured: number,
  unit: string,
  cmp: 'le' | 'ge',
  target: number,
  detail: string,
): Figure {
  const m = round(measured, 2);
  return { id, label, measured: m, unit, target, cmp, pass: cmp === 'le' ? m <= target : m >= target, detail };
}

function log(s: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
}

async function main(): Promise<void> {
  const upstream = await startUpstream();
  const bareProxy = await startBareProxy(upstream.port);
  const daemons: Daemon[] = [];
  try {
    const direct = directTarget(upstream.port);
    const directB = directTarget(upstream.port, 'directB');
    const bare = bareTarget(bareProxy.port);
    // Warm the upstream and the client.
    await load(direct, false, 8, 300);
    await load(direct, true, 8, 300);

    // Cold start: spawn → first answered request, against `node -e 0`, interleaved.
    log('cold start');
    const nodeMs: number[] = [];
    const daemonMs: number[] = [];
    for (let i = 0; i < COLD_REPS; i++) {
      nodeMs.push(await nodeBaseline());
      const t0 = performance.now();
      const d = await startDaemon(upstream.port);
      await request(gatewayTarget(d), false);
      daemonMs.push(performance.now() - t0);
      await d.stop();
    }

    // The main daemon.
    const profDir = process.env.BENCH_CPU_PROF;
    const a = await startDaemon(upstream.port, profDir ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir] } : {});
    daemons.push(a);
    const startedAt = performance.now();
    await sleep(STARTUP_RSS_AFTER_MS);
    const startupRss = rssMiB(a.pid);
    await sleep(SETTLED_RSS_AFTER_MS - (performance.now() - startedAt));
    const idleRss = rssMiB(a.pid);
    const gw = gatewayTarget(a);
    let served = 0;
    // Every arm warmed alike: the latency figures are those of a daemon that has been serving (its
    // request path compiled by V8's optimising tier), not of its first requests.
    log(`warm-up: ${WARMUP} requests of each kind per arm`);
    for (const t of [direct, bare, gw]) {
      await load(t, false, 8, WARMUP);
      await load(t, true, 8, WARMUP);
    }
    served += 2 * WARMUP;

    log('one at a time');
    const s1 = [arm(direct), arm(gw), arm(directB), arm(bare)];
    await sequential(s1, false, SEQ);
    const f1 = [arm(direct), arm(gw), arm(directB), arm(bare)];
    await sequential(f1, true, SEQ);
    served += 2 * SEQ;

    log('8 concurrent');
    const c8 = [arm(direct), arm(gw), arm(directB), arm(bare)];
    await concurrent(c8, false, 8, BATCH);
    served += ROUNDS * BATCH;

    log('32 concurrent');
    let cpu = 0;
    let cpuCount = 0;
    const measureCpu = async (x: Arm, run: () => Promise<void>): Promise<void> => {
      if (x.target !== gw) return run();
      const c0 = cpuSeconds(a.pid);
      await run();
      cpu += cpuSeconds(a.pid) - c0;
      cpuCount += BATCH;
    };
    const c32 = [arm(direct), arm(gw), arm(directB), arm(bare)];
    await concurrent(c32, false, 32, BATCH, measureCpu);
    const c32s = [arm(direct), arm(gw), arm(directB), arm(bare)];
    await concurrent(c32s, true, 32, BATCH);
    served += 2 * ROUNDS * BATCH;

    log(`age: ${AGE} requests`);
    const age: Results['series']['age'] = [{ requests: served, rssMiB: round(rssMiB(a.pid), 1), rps: NaN }];
    const chunk = Math.max(250, Math.ceil(AGE / 20));
    for (let done = 0; done < AGE;) {
      const n = Math.min(chunk, AGE - done);
      const r = await load(gw, false, 32, n);
      done += n;
      served += n;
      age.push({ requests: served, rssMiB: round(rssMiB(a.pid), 1), rps: round(r.rps, 1) });
    }
    await sleep(1000);
    const agedRssNow = rssMiB(a.pid);
    await sleep(AGED_SETTLE_MS - 1000);
    const agedRss = rssMiB(a.pid);
    age.push({ requests: served, rssMiB: round(agedRss, 1), rps: NaN });

    log('aged against fresh');
    // Two fresh daemons: two processes of the same build differ by several per cent in throughput on
    // shared cores (where each lands, its JIT's choices), so the aged one is compared with both, and
    // fresh B against fresh A is the noise floor.
    const b = await startDaemon(upstream.port);
    daemons.push(b);
    const c = await startDaemon(upstream.port);
    daemons.push(c);
    const fresh = gatewayTarget(b, 'fresh');
    const freshB = gatewayTarget(c, 'fresh B');
    // All past JIT warm-up alike: the aged daemon sat idle while its RSS settled, and V8's memory reducer
    // drops compiled code and shrinks the heap of an idle process; the fresh ones have just started.
    await load(fresh, false, 32, 2000);
    await load(freshB, false, 32, 2000);
    await load(gw, false, 32, 2000);
    served += 2000;
    const af = [arm(gw), arm(fresh), arm(freshB)];
    // Three batches a round: a ratio of two throughputs of about a second each swung 96–116 % run to run.
    await concurrent(af, false, 32, 3 * BATCH);
    served += ROUNDS * 3 * BATCH;

    log('offline: network down, chain [cloud, cloud, local]');
    const offline = await offlineBench();

    let local: LocalResult | undefined;
    if (LOCAL_RUNS > 0) {
      log(`local tokens/s: ${LOCAL_RUNS} runs per arm`);
      local = await measureLocal(LOCAL_RUNS, LOCAL_MAX_TOKENS);
    }
    const activation = process.env.BENCH_NO_VSCODE ? undefined : measureActivation();

    const q = (x: Arm, p: number, f = lat): number => quantile(f(x), p);
    const added = (arms: Arm[], p: number, f = lat): { v: number; noise: number } => ({
      v: q(arms[1]!, p, f) - q(arms[0]!, p, f),
      noise: q(arms[2]!, p, f) - q(arms[0]!, p, f),
    });
    const l1p50 = added(s1, 0.5),
      l1p99 = added(s1, 0.99),
      l8p50 = added(c8, 0.5),
      l8p99 = added(c8, 0.99),
      ft50 = added(f1, 0.5, ftl);
    const ms = (x: number): string => `${round(x, 2)} ms`;
    const noise = (o: { noise: number }, direct: number): string => `noise floor ${ms(o.noise)}; direct ${ms(direct)}`;
    /** What the bare node:http proxy adds at the same quantile: the floor of any Node proxy here. */
    const bareAdds = (arms: Arm[], p: number, f = lat): string =>
      `; bare Node proxy adds ${ms(q(arms[3]!, p, f) - q(arms[0]!, p, f))}`;
    const coldNode = median(nodeMs),
      coldDaemon = median(daemonMs);
    const figures: Figure[] = [
      fig(
        'added1p50',
        'added latency, 1 at a time, p50',
        l1p50.v,
        'ms',
        'le',
        0.5,
        noise(l1p50, q(s1[0]!, 0.5)) + bareAdds(s1, 0.5),
      ),
      fig(
        'added1p99',
        'added latency, 1 at a time, p99',
        l1p99.v,
        'ms',
        'le',
        3,
        noise(l1p99, q(s1[0]!, 0.99)) + bareAdds(s1, 0.99),
      ),
      fig(
        'added8p50',
        'added latency, 8 concurrent, p50',
        l8p50.v,
        'ms',
        'le',
        1,
        noise(l8p50, q(c8[0]!, 0.5)) + bareAdds(c8, 0.5),
      ),
      fig(
        'added8p99',
        'added latency, 8 concurrent, p99',
        l8p99.v,
        'ms',
        'le',
        6,
        noise(l8p99, q(c8[0]!, 0.99)) + bareAdds(c8, 0.99),
      ),
      fig(
        'tput32',
        'throughput, 32 concurrent, non-streamed, % of direct',
        (100 * rps(c32[1]!)) / rps(c32[0]!),
        '%',
        'ge',
        40,
        `${round(rps(c32[1]!), 0)} vs ${round(rps(c32[0]!), 0)} req/s; direct B ${round(rps(c32[2]!), 0)}; ` +
          `bare Node proxy ${round(rps(c32[3]!), 0)} req/s, ${round((100 * rps(c32[3]!)) / rps(c32[0]!), 1)} %`,
      ),
      fig(
        'tput32s',
        'throughput, 32 concurrent, streamed, % of direct',
        (100 * rps(c32s[1]!)) / rps(c32s[0]!),
        '%',
        'ge',
        40,
        `${round(rps(c32s[1]!), 0)} vs ${round(rps(c32s[0]!), 0)} req/s; direct B ${round(rps(c32s[2]!), 0)}; ` +
          `bare Node proxy ${round((100 * rps(c32s[3]!)) / rps(c32s[0]!), 1)} %`,
      ),
      fig(
        'ttft50',
        'streaming added first-token latency, p50',
        ft50.v,
        'ms',
        'le',
        1,
        noise(ft50, q(f1[0]!, 0.5, ftl)) + bareAdds(f1, 0.5, ftl),
      ),
      fig(
        'cold',
        'cold start to first answer, × `node -e 0`',
        coldDaemon / coldNode,
        '×',
        'le',
        2.5,
        `${round(coldDaemon, 0)} ms vs ${round(coldNode, 0)} ms (medians of ${COLD_REPS})`,
      ),
      fig(
        'idleRss',
        'idle RSS',
        idleRss,
        'MiB',
        'le',
        70,
        `main daemon, idle ${SETTLED_RSS_AFTER_MS / 1000} s after start, before any request; ` +
          `${round(startupRss, 1)} MiB at ${STARTUP_RSS_AFTER_MS / 1000} s (after its first system snapshot)`,
      ),
      fig(
        'rssGrowth',
        `RSS growth after ${served.toLocaleString('en')} requests`,
        agedRss - idleRss,
        'MiB',
        'le',
        30,
        `${round(agedRss, 1)} MiB idle ${AGED_SETTLE_MS / 1000} s after the age run vs ${round(idleRss, 1)} MiB ` +
          `idle at start; ${round(agedRssNow, 1)} MiB 1 s after the run`,
      ),
      fig(
        'cpu1k',
        'daemon CPU per 1,000 requests',
        (cpu * 1000) / cpuCount,
        's',
        'le',
        0.6,
        `utime+stime over ${cpuCount} non-streamed requests at 32 concurrent`,
      ),
      fig(
        'age',
        `throughput after ${AGE.toLocaleString('en')} more requests, % of a fresh daemon`,
        (200 * rps(af[0]!)) / (rps(af[1]!) + rps(af[2]!)),
        '%',
        'ge',
        95,
        `${round(rps(af[0]!), 0)} vs ${round(rps(af[1]!), 0)} and ${round(rps(af[2]!), 0)} req/s (two fresh daemons) at 32 concurrent, interleaved; noise floor: fresh B is ${round((100 * rps(af[2]!)) / rps(af[1]!), 1)} % of fresh A`,
      ),
      fig(
        'offline',
        'network down: [cloud, cloud, local] first token after local alone',
        offline.addedMs,
        'ms',
        'le',
        50,
        offline.detail,
      ),
      ...(activation
        ? [
            fig(
              'activation',
              'extension activation in the extension host',
              activation.activationMs,
              'ms',
              'le',
              50,
              `median of ${activation.runs?.length ?? 1} starts (${(activation.runs ?? [activation.activationMs]).map((x) => round(x, 1)).join(', ')} ms); that start: loading ${round(activation.loadMs, 1)} ms + activate() ${round(activation.activateMs, 1)} ms (api.activation)`,
            ),
          ]
        : []),
      ...(local
        ? [
            fig(
              'localTps',
              'local tokens/s through Backstop, % of direct node-llama-cpp',
              localRatio(local),
              '%',
              'ge',
              97,
              `median of ${local.direct.length} interleaved pairs; ${round(median(local.backstop), 1)} vs ${round(median(local.direct), 1)} tok/s (medians), ${local.maxTokens} tokens, ${local.threads} thread, generated 100 M-parameter GGUF`,
            ),
          ]
        : []),
    ];
    const pick = (arms: Arm[], f = lat) => ({
      direct: percentiles(f(arms[0]!)),
      gateway: percentiles(f(arms[1]!)),
      directB: percentiles(f(arms[2]!)),
      bare: percentiles(f(arms[3]!)),
    });
    const results: Results = {
      at: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        model: os.cpus()[0]?.model ?? '?',
        node: process.version,
        loadavg: os.loadavg(),
      },
      settings: { ageRequests: AGE, rounds: ROUNDS, seq: SEQ, batch: BATCH, warmup: WARMUP },
      figures,
      series: {
        latency1: pick(s1),
        latency8: pick(c8),
        firstToken1: pick(f1, ftl),
        throughput: [
          ...[
            [1, s1],
            [8, c8],
            [32, c32],
          ].map(([concurrency, arms]) => ({
            concurrency: concurrency as number,
            direct: round(rps((arms as Arm[])[0]!), 1),
            gateway: round(rps((arms as Arm[])[1]!), 1),
            bare: round(rps((arms as Arm[])[3]!), 1),
          })),
        ],
        age,
        coldStart: { nodeMs: nodeMs.map((x) => round(x, 1)), daemonMs: daemonMs.map((x) => round(x, 1)) },
        ...(local ? { local } : {}),
        ...(activation ? { activation } : {}),
      },
    };
    printTable(results);
    if (!process.env.BENCH_NO_WRITE) {
      const dir = path.join(__dirname, 'results');
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${results.at.replace(/[:.]/g, '-')}.json`);
      const text = await prettier.format(JSON.stringify(results), { filepath: file, printWidth: 120 });
      fs.writeFileSync(file, text);
      console.log(`\nwritten ${path.relative(process.cwd(), file)} (tsx bench/report.ts → BENCHMARKS.md)`);
    }
  } finally {
    for (const d of daemons) await d.stop();
    await bareProxy.stop();
    await upstream.stop();
  }
}

/**
 * The extension's activation time in a real extension host: the harness of the vscode layer, running
 * only test/vscode/activation.test.ts, which writes api.activation to a file. Undefined (and said so)
 * when the host cannot run here.
 */
function measureActivation(): Results['series']['activation'] {
  log(`extension activation (extension host): ${ACTIVATION_RUNS} starts`);
  // One start is one sample of a busy machine (loading the bundle from disk, the host's own start-up):
  // the median of a few, each in a fresh extension host, is the figure.
  const runs: NonNullable<Results['series']['activation']>[] = [];
  for (let i = 0; i < ACTIVATION_RUNS; i++) {
    const one = activationOnce();
    if (!one) return undefined;
    runs.push(one);
  }
  runs.sort((a, b) => a.activationMs - b.activationMs);
  return { ...runs[Math.floor(runs.length / 2)]!, runs: runs.map((r) => r.activationMs) };
}

function activationOnce(): Results['series']['activation'] {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-bench-act-')), 'activation.json');
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'testVscode.mjs')], {
    env: {
      ...process.env,
      BACKSTOP_SKIP_BUILD: '1',
      BACKSTOP_VSCODE_GREP: 'activation time',
      BACKSTOP_BENCH_ACTIVATION: out,
    },
    encoding: 'utf8',
    timeout: 300_000,
  });
  try {
    return JSON.parse(fs.readFileSync(out, 'utf8')) as Results['series']['activation'];
  } catch {
    log(`no activation figure: the extension-host run said ${(r.stdout + r.stderr).trim().slice(-500)}`);
    return undefined;
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

export function formatTable(r: Results): string[] {
  const rows = r.figures.map((f) => [
    f.label,
    `${f.measured} ${f.unit}`,
    `${f.cmp === 'le' ? '≤' : '≥'} ${f.target} ${f.unit}`,
    f.pass ? 'PASS' : 'FALL SHORT',
    f.detail,
  ]);
  const head = ['figure', 'measured', 'target', 'result', 'detail'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i]!)).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
}

function printTable(r: Results): void {
  console.log(`\nBackstop gateway vs the upstream called directly (${r.machine.cpus} CPUs, node ${r.machine.node})`);
  for (const l of formatTable(r)) console.log(l);
}

if (require.main === module)
  main().catch((e: unknown) => {
    console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  });
