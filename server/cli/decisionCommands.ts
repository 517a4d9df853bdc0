// The decision commands: `suggest MODEL` (ranked alternatives with reasons), `plan MODEL --failure KIND`
// (what to do when it fails that way) and `wait MODEL` (how long a new request would wait). Tables by
// default, the daemon's own answer with --json.
import { newTable } from './table';
import { type Command, Option } from 'commander';
import { CAPABILITIES, FAILURE_KINDS, PRIORITIES, type Capability, type FailureKind } from '../../protocol/enums';
import { humanDuration } from '../../protocol/humanTime';
import { methods } from '../../protocol/index';
import type { FallbackPlan, Priority, Requirements, Suggestion, WaitEstimate } from '../../protocol/types';
import { EXIT_OK } from './exitCodes';
import { intFlag } from './flags';
import { out, run, withCommon, type Common } from './run';

interface RequirementFlags {
  capability?: Capability[];
  minContext?: number;
  preferSpeed?: boolean;
  preferQuality?: boolean;
}

function requirementOptions(c: Command): Command {
  return c
    .addOption(new Option('--capability <c...>', 'capabilities the alternative must have').choices([...CAPABILITIES]))
    .option('--min-context <n>', 'context length the alternative must have', intFlag(1, 10_000_000))
    .option('--prefer-speed', 'rank faster models higher')
    .option('--prefer-quality', 'rank models of higher quality higher');
}

function requirementsOf(o: RequirementFlags): Requirements | undefined {
  const r: Requirements = {
    ...(o.capability?.length ? { capabilities: o.capability } : {}),
    ...(o.minContext !== undefined ? { minContext: o.minContext } : {}),
    ...(o.preferSpeed ? { preferSpeed: true } : {}),
    ...(o.preferQuality ? { preferQuality: true } : {}),
  };
  return Object.keys(r).length ? r : undefined;
}

const pct = (x: number) => `${Math.round(x * 100)} %`;
const signed = (x: number) => `${x > 0 ? '+' : ''}${x.toFixed(2)}`;
const waitText = (ms: number | undefined) => (ms === undefined ? '' : ms === 0 ? 'now' : humanDuration(ms));

export function suggestionsTable(list: Suggestion[]): string {
  if (list.length === 0) return 'No other model is known: add models to the configuration.';
  const t = newTable({ head: ['model', 'score', 'ready', 'quality', 'wait', 'why'], style: { head: [], border: [] } });
  for (const s of list)
    t.push([
      s.model,
      pct(s.score),
      s.available ? 'yes' : 'no',
      signed(s.qualityDelta),
      waitText(s.estimatedWaitMs),
      s.reasons.join('; '),
    ]);
  return t.toString();
}

export function planText(model: string, plan: FallbackPlan): string {
  const t = newTable({
    head: ['', 'option', 'model', 'confidence', 'wait', 'what to do'],
    style: { head: [], border: [] },
    colWidths: [3, 22, 30, 12, 10, 70],
    wordWrap: true,
  });
  // The planner puts the recommended option first.
  plan.options.forEach((o, i) =>
    t.push([i === 0 ? '→' : '', o.type, o.model ?? '', pct(o.confidence), waitText(o.estimatedWaitMs), o.message]),
  );
  return `When ${model} fails with ${plan.failure}: ${plan.recommended.message}\n${t.toString()}`;
}

export function waitLine(model: string, w: WaitEstimate): string {
  const parts = [
    w.factors.queueMs ? `queue ${humanDuration(w.factors.queueMs)}` : '',
    w.factors.cooldownMs ? `cooldown ${humanDuration(w.factors.cooldownMs)}` : '',
    w.factors.downloadMs ? `download ${humanDuration(w.factors.downloadMs)}` : '',
    `answer ${humanDuration(w.factors.processingMs)}`,
  ].filter(Boolean);
  const pos = w.position ? `, behind ${w.position} request${w.position === 1 ? '' : 's'}` : ', nothing ahead';
  return `${model}: a new request would take about ${humanDuration(w.totalMs)} (${parts.join(', ')})${pos}; confidence ${pct(w.confidence)}`;
}

export function registerDecisionCommands(program: Command): void {
  withCommon(
    requirementOptions(
      program
        .command('suggest')
        .description('ranked alternatives to a model, with the reasons (health, capabilities, quality, fit)')
        .argument('<model>', 'model id, e.g. local/qwen2.5-0.5b'),
    ),
  ).action((model: string, o: Common & RequirementFlags) =>
    run(o, async (c) => {
      const requirements = requirementsOf(o);
      const { suggestions } = await c.request(methods.suggest, { model, ...(requirements ? { requirements } : {}) });
      out(o.json, { suggestions }, () => suggestionsTable(suggestions));
      return EXIT_OK;
    }),
  );

  withCommon(
    requirementOptions(
      program
        .command('plan')
        .description('what to do when a model fails in a given way: ranked options, the recommended one first')
        .argument('<model>', 'the model that failed')
        .addOption(new Option('--failure <kind>', 'how it failed').choices([...FAILURE_KINDS]).makeOptionMandatory())
        .option('--message <text>', "the provider's error message")
        .option('--retry-after <ms>', 'the Retry-After the provider sent, in ms', intFlag(0, 86_400_000)),
    ),
  ).action(
    (model: string, o: Common & RequirementFlags & { failure: FailureKind; message?: string; retryAfter?: number }) =>
      run(o, async (c) => {
        const requirements = requirementsOf(o);
        const plan = await c.request(methods.plan, {
          model,
          failure: {
            kind: o.failure,
            ...(o.message ? { message: o.message } : {}),
            ...(o.retryAfter !== undefined ? { retryAfterMs: o.retryAfter } : {}),
          },
          ...(requirements ? { requirements } : {}),
        });
        out(o.json, plan, () => planText(model, plan));
        return EXIT_OK;
      }),
  );

  withCommon(
    program
      .command('wait')
      .description('how long a new request for a model would wait: queue, cooldown, download and answer time')
      .argument('<model>', 'model id')
      .addOption(new Option('--priority <p>', 'priority of the request').choices([...PRIORITIES]))
      .option('--max-tokens <n>', 'tokens the answer may have', intFlag(1, 131_072)),
  ).action((model: string, o: Common & { priority?: Priority; maxTokens?: number }) =>
    run(o, async (c) => {
      const est = await c.request(methods.estimateWait, {
        model,
        ...(o.priority ? { priority: o.priority } : {}),
        ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}),
      });
      out(o.json, est, () => waitLine(model, est));
      return EXIT_OK;
    }),
  );
}
