// The CLI's client commands: status, models, complete, bench, chain set, doctor. Each has --json.
import { newTable } from './table';
import type { Command } from 'commander';
import { startSpinner } from './spinner';
import { methods } from '../../protocol/index';
import type { BenchmarkResult, CompleteResult, ModelInfo } from '../../protocol/types';
import { EXIT_CANCELLED, EXIT_ERROR, EXIT_EXHAUSTED, EXIT_OK, EXIT_USAGE } from './exitCodes';
import { fmtBytes, formatAttempts, formatStatus, printable } from './format';
import { intFlag, numberFlag } from './flags';
import { out, run, withCommon, type Common } from './run';
import { isModelId } from '../../protocol/modelId';
import { queuedText } from '../../protocol/waitText';

export function registerClientCommands(program: Command): void {
  withCommon(program.command('status').description('health score, chain and state of the daemon')).action((o: Common) =>
    run(o, async (c) => {
      const s = await c.request(methods.status);
      out(o.json, s, () => formatStatus(s));
      return EXIT_OK;
    }),
  );

  withCommon(program.command('models').description('every known model: availability, fit, health, speed'))
    .option('--refresh', 'rescan folders and providers first')
    .action((o: Common & { refresh?: boolean }) =>
      run(o, async (c) => {
        const { models } = await c.request(methods.models, { refresh: !!o.refresh });
        out(o.json, models, () => modelsTable(models));
        return EXIT_OK;
      }),
    );

  withCommon(
    program.command('complete').description('run one completion through the chain').argument('<prompt>', 'the prompt'),
  )
    .option('--model <id>', 'try this model first, then the chain')
    .option('--chain <ids>', 'comma-separated chain instead of the configured one')
    .option('--stream', 'print tokens as they arrive')
    .option('--max-tokens <n>', 'maximum tokens to generate', intFlag(1, 131_072))
    .option('--temperature <t>', 'sampling temperature', numberFlag(0, 2))
    .option('--local-only', 'keep the request on this machine: cloud models are skipped (privacy guard)')
    .action(
      (
        prompt: string,
        o: Common & {
          model?: string;
          chain?: string;
          stream?: boolean;
          maxTokens?: number;
          temperature?: number;
          localOnly?: boolean;
        },
      ) =>
        run(o, async (c) => {
          const status = await c.request(methods.status);
          const chain = o.chain
            ? o.chain
                .split(',')
                .map((x) => x.trim())
                .filter(Boolean)
            : o.model
              ? [o.model, ...status.chain.filter((m) => m !== o.model)]
              : undefined;
          const streamId = o.stream ? `cli-${process.pid}` : undefined;
          const spinner = !o.json && !o.stream && process.stderr.isTTY ? await startSpinner('completing…') : undefined;
          if (streamId) {
            c.onNotification(methods.stream, (d) => {
              if (d.streamId !== streamId) return;
              if (d.reset) process.stdout.write(`\n[${d.model}: starting over after a failed attempt]\n`);
              else process.stdout.write(printable(d.delta));
            });
          }
          c.onNotification(methods.fallback, (f) => {
            if (!o.json) process.stderr.write(`\n↪ fallback ${f.from} → ${f.to} (${f.failure}: ${f.message})\n`);
          });
          if (!o.json) {
            // A queued request says how long it will wait (estimated now, for the chain's first model).
            const primary = chain?.[0] ?? (await c.request(methods.status).catch(() => undefined))?.chain[0];
            const est =
              primary && isModelId(primary)
                ? await c
                    .request(methods.estimateWait, {
                      model: primary,
                      ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}),
                    })
                    .catch(() => undefined)
                : undefined;
            const text = est && queuedText(est);
            if (text) process.stderr.write(`⏳ ${text}\n`);
          }
          try {
            const r: CompleteResult = await c.request(methods.complete, {
              prompt,
              ...(chain ? { chain } : {}),
              ...(streamId ? { streamId } : {}),
              ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}),
              ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
              ...(o.localOnly ? { localOnly: true } : {}),
            });
            spinner?.stop();
            if (o.json) out(true, r, () => '');
            else {
              if (!o.stream) process.stdout.write(printable(r.text));
              process.stdout.write('\n');
              process.stderr.write(
                `— answered by ${r.modelUsed}${r.fallbackOccurred ? ' (fallback)' : ''} in ${r.totalLatencyMs} ms, ${r.usage?.completionTokens ?? '?'} tokens\n${formatAttempts(r.attempts)}\n`,
              );
            }
            return EXIT_OK;
          } finally {
            spinner?.stop();
          }
        }),
    );

  withCommon(
    program
      .command('bench')
      .description('benchmark models: time to first token, prompt and generation tokens/s')
      .argument('[models...]', 'model ids (default: all ready models)'),
  )
    .option('--repetitions <n>', 'runs per model', intFlag(1, 20))
    .option('--max-tokens <n>', 'tokens to generate per run', intFlag(1, 4096))
    .option('--prompt-tokens <n>', 'prompt length in tokens', intFlag(1, 8192))
    .action((models: string[], o: Common & { repetitions?: number; maxTokens?: number; promptTokens?: number }) =>
      run(o, async (c) => {
        const spinner = !o.json && process.stderr.isTTY ? await startSpinner('benchmarking…') : undefined;
        c.onNotification(methods.benchmarkProgress, (p) => {
          if (spinner) spinner.text = `benchmarking ${p.model} (${p.done}/${p.total})`;
          else if (!o.json) process.stderr.write(`benchmark ${p.model}: ${p.done}/${p.total}\n`);
        });
        const { results } = await c.request(methods.benchmark, {
          ...(models.length ? { models } : {}),
          ...(o.repetitions ? { repetitions: o.repetitions } : {}),
          ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}),
          ...(o.promptTokens ? { promptTokens: o.promptTokens } : {}),
        });
        spinner?.stop();
        out(o.json, results, () => benchTable(results));
        return results.every((r) => r.ok) ? EXIT_OK : EXIT_ERROR;
      }),
    );

  const chain = program.command('chain').description('show or change the fallback chain');
  withCommon(chain.command('set').description('replace the chain').argument('<models...>', 'model ids in order'))
    .option('--strategy <s>', 'sequential | fastest | load_balanced')
    .action((models: string[], o: Common & { strategy?: 'sequential' | 'fastest' | 'load_balanced' }) =>
      run(o, async (c) => {
        const r = await c.request(methods.setChain, { chain: models, ...(o.strategy ? { strategy: o.strategy } : {}) });
        out(
          o.json,
          r,
          () =>
            `chain (${r.strategy}): ${r.chain.join(' → ')}${c.kind === 'embedded' ? '\nnote: no daemon is running, so this change applied to a temporary one; put "chain" in your config file to keep it' : ''}`,
        );
        return EXIT_OK;
      }),
    );
  withCommon(chain.command('show').description('print the chain')).action((o: Common) =>
    run(o, async (c) => {
      const s = await c.request(methods.status);
      out(
        o.json,
        { chain: s.chain, strategy: s.strategy },
        () => `chain (${s.strategy}): ${s.chain.join(' → ') || '(empty)'}`,
      );
      return EXIT_OK;
    }),
  );

  withCommon(program.command('doctor').description('system, fit and recommendations on one screen')).action(
    (o: Common) =>
      run(o, async (c) => {
        const [status, sys, health, { models }] = await Promise.all([
          c.request(methods.status),
          c.request(methods.system),
          c.request(methods.health),
          c.request(methods.models, {}),
        ]);
        out(o.json, { status, system: sys, health, models }, () => {
          const lines = [
            formatStatus(status),
            '',
            `System: ${sys.cpu.brand} (${sys.cpu.cores} cores, load ${sys.cpu.loadPercent.toFixed(0)} %), RAM ${fmtBytes(sys.memory.availableBytes)} free of ${fmtBytes(sys.memory.totalBytes)}, ${sys.gpus.length ? sys.gpus.map((g) => `${g.vendor} ${g.model} ${g.vramTotalBytes ? fmtBytes(g.vramTotalBytes) : ''}`).join(', ') : 'no GPU (CPU inference)'}`,
            '',
            'Health factors:',
            ...health.factors.map((f) => `  ${f.name.padEnd(24)} ${String(f.score).padStart(3)}  ${f.detail}`),
            '',
            modelsTable(models),
            '',
            health.recommendations.length
              ? 'Recommendations:\n' + health.recommendations.map((r) => `  • ${r}`).join('\n')
              : 'No recommendations: all good.',
          ];
          return lines.join('\n');
        });
        return EXIT_OK;
      }),
  );

  program.command('help-exit-codes', { hidden: true }).action(() => {
    process.stdout.write(
      `0 ok, ${EXIT_ERROR} error, ${EXIT_USAGE} usage/config, ${EXIT_EXHAUSTED} no model could answer, ${EXIT_CANCELLED} cancelled\n`,
    );
  });
}

function modelsTable(models: ModelInfo[]): string {
  const t = newTable({
    head: ['model', 'kind', 'availability', 'ctx', 'size', 'quant', 'fit', 'circuit', 'tok/s', 'TTFT ms'],
    style: { head: [], border: [] },
  });
  for (const m of models) {
    t.push([
      m.id,
      m.kind,
      m.availability + (m.reason ? ` (${m.reason.slice(0, 40)})` : ''),
      m.contextLength ?? '',
      m.sizeBytes ? fmtBytes(m.sizeBytes) : '',
      m.quantization ?? '',
      m.fit
        ? m.fit.fits
          ? `yes ${fmtBytes(m.fit.estimatedRamBytes)}`
          : `no ${fmtBytes(m.fit.estimatedRamBytes)}`
        : '',
      m.health.state,
      m.benchmark?.tokensPerSecond?.toFixed(1) ?? '',
      m.benchmark?.ttftMs?.toFixed(0) ?? '',
    ]);
  }
  return t.toString();
}

export function benchTable(results: BenchmarkResult[]): string {
  const t = newTable({
    head: ['model', 'ok', 'TTFT ms', 'pp tok/s', 'tg tok/s', 'peak RSS', 'runs'],
    style: { head: [], border: [] },
  });
  const pm = (v?: number, sd?: number, d = 1) =>
    v === undefined ? '' : `${v.toFixed(d)}${sd !== undefined ? ` ± ${sd.toFixed(d)}` : ''}`;
  for (const r of results) {
    t.push([
      r.model,
      r.ok ? 'yes' : `no: ${r.error ?? ''}`.slice(0, 50),
      pm(r.ttftMs, r.ttftSdMs, 0),
      pm(r.promptTokensPerSecond, r.promptTokensPerSecondSd),
      pm(r.tokensPerSecond, r.tokensPerSecondSd),
      r.peakRssBytes ? fmtBytes(r.peakRssBytes) : '',
      r.repetitions ?? '',
    ]);
  }
  return t.toString();
}
