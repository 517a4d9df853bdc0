// The operations commands: `queue [--cancel ID]`, `download MODEL` (with progress), `monitor [--seconds N]`
// (a live table, one row a sample) and `stats`. Tables by default, the daemon's own answer with --json.
import { newTable } from './table';
import type { Command } from 'commander';
import { startSpinner } from './spinner';
import { humanDuration, relativeIso } from '../../protocol/humanTime';
import { methods } from '../../protocol/index';
import type { DownloadResult, MonitorSample, QueueItem, Stats } from '../../protocol/types';
import type { Conn } from './connection';
import { EXIT_OK, EXIT_USAGE } from './exitCodes';
import { intFlag } from './flags';
import { fmtBytes } from './format';
import { out, run, withCommon, type Common } from './run';

/** The daemon's monitor sessions last at least this long; a shorter `--seconds` stops it early. */
const MONITOR_MIN_SESSION_S = 10;
const MONITOR_INTERVAL_MS = 1000;
/** Without a terminal, download progress is a line at every this many percent. */
const PROGRESS_STEP_PERCENT = 10;

export function queueTable(items: QueueItem[], now = Date.now()): string {
  if (items.length === 0) return 'The queue is empty: no request is waiting.';
  const t = newTable({
    head: ['#', 'id', 'model', 'priority', 'waiting since', 'expected wait'],
    style: { head: [], border: [] },
  });
  for (const i of items)
    t.push([
      i.position,
      i.id,
      i.model,
      i.priority,
      relativeIso(i.enqueuedAt, now) ?? '',
      humanDuration(i.estimatedWaitMs),
    ]);
  return t.toString();
}

export function statsText(s: Stats): string {
  const t = newTable({ head: ['model', 'answers', 'share'], style: { head: [], border: [] } });
  const used = Object.entries(s.modelsUsed).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const answered = used.reduce((n, [, c]) => n + c, 0);
  for (const [m, n] of used) t.push([m, n, answered ? `${Math.round((n / answered) * 100)} %` : '']);
  return [
    `requests: ${s.totalRequests}   fell back: ${s.fallbackRequests} (${Math.round(s.fallbackRate * 100)} %)   failed: ${s.failedRequests ?? 0}`,
    used.length ? t.toString() : 'No model has answered yet.',
  ].join('\n');
}

/** A bar of `width` cells for a value in 0..100. */
export function bar(value: number, width = 20): string {
  const cells = Math.round((Math.max(0, Math.min(100, value)) / 100) * width);
  return '█'.repeat(cells) + '·'.repeat(width - cells);
}

export function monitorRow(s: MonitorSample): string {
  const time = new Date(s.at).toISOString().slice(11, 19);
  const vram = s.vramFreeBytes !== undefined ? `  VRAM free ${fmtBytes(s.vramFreeBytes).padStart(8)}` : '';
  return `${time}  health ${String(Math.round(s.healthScore)).padStart(3)} ${bar(s.healthScore)}  CPU ${String(Math.round(s.cpuLoadPercent)).padStart(3)} %  RAM free ${fmtBytes(s.memAvailableBytes).padStart(8)}${vram}`;
}

function downloadDone(r: DownloadResult): string {
  return `downloaded ${r.model} to ${r.path}: ${fmtBytes(r.bytes)} in ${humanDuration(r.durationMs)}${r.resumed ? ' (resumed)' : ''}, sha256 ${r.sha256}`;
}

async function follow(c: Conn, seconds: number, json: boolean | undefined): Promise<MonitorSample[]> {
  const first = await c.request(methods.monitor, {
    action: 'start',
    durationS: Math.max(MONITOR_MIN_SESSION_S, seconds),
    intervalMs: MONITOR_INTERVAL_MS,
  });
  let shown = 0;
  const show = (samples: MonitorSample[]) => {
    if (!json) for (; shown < samples.length; shown++) process.stdout.write(monitorRow(samples[shown]!) + '\n');
  };
  show(first.samples);
  const end = Date.now() + seconds * 1000;
  let samples = first.samples;
  try {
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(MONITOR_INTERVAL_MS, Math.max(0, end - Date.now()))));
      samples = (await c.request(methods.monitor, { action: 'get' })).samples;
      show(samples);
    }
  } finally {
    samples = (await c.request(methods.monitor, { action: 'stop' }).catch(() => ({ samples }))).samples;
  }
  show(samples);
  return samples;
}

export function registerOpsCommands(program: Command): void {
  withCommon(
    program
      .command('queue')
      .description('the requests waiting for a model, or cancel one')
      .option('--cancel <id>', 'remove this waiting request (it fails as cancelled)'),
  ).action((o: Common & { cancel?: string }) =>
    run(o, async (c) => {
      if (o.cancel !== undefined) {
        const r = await c.request(methods.queueCancel, { id: o.cancel });
        out(o.json, r, () =>
          r.cancelled
            ? `cancelled ${o.cancel}`
            : `no waiting request has id ${o.cancel} (run "backstop queue" for the ids)`,
        );
        return r.cancelled ? EXIT_OK : EXIT_USAGE;
      }
      const { items } = await c.request(methods.queue);
      out(o.json, { items }, () => queueTable(items));
      return EXIT_OK;
    }),
  );

  withCommon(
    program
      .command('download')
      .description('fetch a missing local model from its configured source, or pull an Ollama model')
      .argument('<model>', 'model id'),
  ).action((model: string, o: Common) =>
    run(o, async (c) => {
      const spinner = !o.json && process.stderr.isTTY ? await startSpinner(`downloading ${model}…`) : undefined;
      let lastStep = -1;
      c.onNotification(methods.downloadProgress, (p) => {
        if (p.model !== model || o.json) return;
        const percent = p.totalBytes ? Math.floor((p.receivedBytes / p.totalBytes) * 100) : undefined;
        const text = `downloading ${model}: ${fmtBytes(p.receivedBytes)}${p.totalBytes ? ` of ${fmtBytes(p.totalBytes)} (${percent} %)` : ''}`;
        if (spinner) spinner.text = text;
        else {
          const step = percent === undefined ? lastStep + 1 : Math.floor(percent / PROGRESS_STEP_PERCENT);
          if (step > lastStep) process.stderr.write(`${text}\n`);
          lastStep = step;
        }
      });
      try {
        const r = await c.request(methods.download, { model });
        spinner?.succeed(downloadDone(r));
        if (!spinner) out(o.json, r, () => downloadDone(r));
        return EXIT_OK;
      } finally {
        spinner?.stop();
      }
    }),
  );

  withCommon(
    program
      .command('monitor')
      .description('follow health, CPU, RAM and VRAM live: one row a second')
      .option('--seconds <n>', 'how long to follow', intFlag(1, 300), MONITOR_MIN_SESSION_S),
  ).action((o: Common & { seconds: number }) =>
    run(o, async (c) => {
      const samples = await follow(c, o.seconds, o.json);
      if (o.json) out(true, { samples }, () => '');
      return EXIT_OK;
    }),
  );

  withCommon(
    program.command('stats').description('requests, fallbacks and failures, and which models answered'),
  ).action((o: Common) =>
    run(o, async (c) => {
      const s = await c.request(methods.stats);
      out(o.json, s, () => statsText(s));
      return EXIT_OK;
    }),
  );
}
