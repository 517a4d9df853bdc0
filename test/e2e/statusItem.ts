// Issue 17 as a person sees it: the status item healthy, degraded and exhausted, its tooltip (no raw
// milliseconds, no ISO times), the all-failed warning with Show Attempts and the trace it opens, the
// walkthrough, and the remote-settings hint. Screenshots: test-artifacts/e2e/17-*.png.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { startFaultServer } from '../fixtures/faultServer';
import type { E2eContext, Step } from './steps';
import {
  backstopStatus,
  COMPLETE_TIMEOUT_MS,
  notification,
  openFile,
  runCommand,
  statusBar,
  UI_TIMEOUT_MS,
} from './workbench';

const RAW_TIME = [/\b\d{4,} ?ms\b/, /\+\d+ ?ms/, /\d{4}-\d\d-\d\dT\d\d:\d\d/];

async function shot(ctx: E2eContext, name: string): Promise<void> {
  await ctx.page.screenshot({ path: path.join(ctx.artifacts, `${name}.png`) });
}

/** The workspace folder sits beside the user data dir (scripts/testE2e.mjs). */
function workspaceSettings(ctx: E2eContext): string {
  assert.ok(ctx.userSettings, 'the harness passes the user settings file');
  return path.join(ctx.userSettings, '..', '..', '..', 'workspace', '.vscode', 'settings.json');
}

/** Backstop.log of every extension host so far (ud/logs/<session>/exthostN/backstop.backstop/). */
function extensionLogs(ctx: E2eContext): string[] {
  assert.ok(ctx.userSettings, 'the harness passes the user settings file');
  const logs = path.join(ctx.userSettings, '..', '..', 'logs');
  if (!fs.existsSync(logs)) return [];
  return (fs.readdirSync(logs, { recursive: true }) as string[])
    .filter((f) => f.endsWith(path.join('backstop.backstop', 'Backstop.log')))
    .map((f) => path.join(logs, f));
}

/** How often the extension has logged that the daemon took a change of `key` ("settings applied: …"). */
function appliedCount(ctx: E2eContext, key: string): number {
  const line = new RegExp(`settings applied: .*\\b${key}\\b`, 'g');
  return extensionLogs(ctx).reduce((n, f) => n + (fs.readFileSync(f, 'utf8').match(line)?.length ?? 0), 0);
}

/**
 * Change settings with `write`, then wait until the extension says the daemon took each of `keys`: the
 * settings file reaches the daemon through VS Code's file watcher, and a request sent before that goes to
 * the old chain. Waits on what happened, not on a guess of how long it takes.
 */
async function applySettings(ctx: E2eContext, keys: string[], write: () => void): Promise<void> {
  const before = keys.map((k) => appliedCount(ctx, k));
  write();
  const deadline = Date.now() + 30_000;
  for (;;) {
    const late = keys.filter((k, i) => appliedCount(ctx, k) <= before[i]!);
    if (!late.length) return;
    assert.ok(Date.now() < deadline, `the daemon did not take the new ${late.join(', ')} within 30 s (Backstop log)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Set backstop.chain in the workspace settings and wait until the daemon has it. */
async function setChain(ctx: E2eContext, chain: string[]): Promise<void> {
  const file = workspaceSettings(ctx);
  const s = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (JSON.stringify(s['backstop.chain']) === JSON.stringify(chain)) return;
  await applySettings(ctx, ['chain'], () =>
    fs.writeFileSync(file, JSON.stringify({ ...s, 'backstop.chain': chain }, null, 2)),
  );
}

async function label(page: Page, re: RegExp, timeout = UI_TIMEOUT_MS): Promise<string> {
  await page.waitForFunction(
    (src) => {
      const el = document.querySelector('#workbench\\.parts\\.statusbar [aria-label^="Backstop: "]');
      return !!el && new RegExp(src).test(el.getAttribute('aria-label') ?? '');
    },
    re.source,
    { timeout },
  );
  return (await backstopStatus(page).getAttribute('aria-label')) ?? '';
}

async function background(page: Page): Promise<string> {
  return backstopStatus(page).evaluate((el) => {
    const item = el.closest('.statusbar-item') ?? el;
    return getComputedStyle(item).backgroundColor;
  });
}

async function complete(page: Page): Promise<void> {
  await openFile(page, 'hello.js');
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+End');
  await runCommand(page, 'Backstop: Complete');
}

export const STATUS_STEPS: Step[] = [
  {
    name: 'issue 17: the status item names itself; healthy, then its tooltip lists the factors in words',
    async run(ctx) {
      const { page } = ctx;
      // Only the local model: nothing in the chain fails, so this is what healthy looks like.
      await setChain(ctx, ['local/tiny']);
      await complete(page);
      await statusBar(page).locator('.statusbar-item', { hasText: 'answered in' }).first().waitFor({
        timeout: COMPLETE_TIMEOUT_MS,
      });
      await label(page, /^Backstop: \d+$/);
      assert.match(await backstopStatus(page).innerText(), /Backstop \d+/);
      await statusBar(page).screenshot({ path: path.join(ctx.artifacts, '17-status-healthy.png') });
      await backstopStatus(page).hover();
      const hover = page
        .locator('.monaco-hover, .workbench-hover')
        .filter({ hasText: /points/ })
        .first();
      await hover.waitFor({ timeout: UI_TIMEOUT_MS });
      const text = await hover.innerText();
      assert.match(text, /Chain models answering: \d+ of \d+ points/);
      assert.match(text, /Answering: local\/tiny/);
      assert.match(text, /health (8\d|9\d|100) of 100/, 'a chain that answers is healthy');
      for (const re of RAW_TIME) assert.doesNotMatch(text, re, text);
      await shot(ctx, '17-status-tooltip');
      await page.keyboard.press('Escape');
    },
  },
  {
    name: 'issue 17: degraded — the primary fails, the fallback answers: a lower score on a warning or error background',
    async run(ctx) {
      const { page } = ctx;
      const calm = await background(page);
      // The chain must have arrived before the request, or it goes straight to local/tiny without a
      // fallback to report.
      await setChain(ctx, ['cloud/gpt-x', 'local/tiny']);
      await complete(page);
      await notification(page, /answered by local\/tiny/).waitFor({ timeout: COMPLETE_TIMEOUT_MS });
      const l = await label(page, /^Backstop: \d+$/);
      const score = Number(/\d+/.exec(l)?.[0]);
      assert.ok(score < 60, `the primary fails: ${l}`);
      await page.waitForFunction(
        (c) => {
          const el = document.querySelector('#workbench\\.parts\\.statusbar [aria-label^="Backstop: "]');
          const item = el?.closest('.statusbar-item') ?? el;
          return !!item && getComputedStyle(item).backgroundColor !== c;
        },
        calm,
        { timeout: UI_TIMEOUT_MS },
      );
      await statusBar(page).screenshot({ path: path.join(ctx.artifacts, '17-status-degraded.png') });
      await shot(ctx, '17-fallback-notification');
    },
  },
  {
    name: 'issue 17: exhausted — a countdown on the item, the all-failed warning with each reason once and Show Attempts',
    async run(ctx) {
      const { page } = ctx;
      assert.ok(ctx.userSettings);
      // A provider whose model answers 503 every time: its circuit opens and the chain is exhausted.
      const fault = await startFaultServer();
      const machineFile = path.join(ctx.userSettings, '..', '..', 'Machine', 'settings.json');
      const before = fs.readFileSync(machineFile, 'utf8');
      try {
        const m = JSON.parse(before) as Record<string, unknown[]>;
        const flaky = {
          id: 'flaky',
          type: 'openai-compatible',
          baseUrl: `${fault.url}/v1`,
          models: ['error-503-always'],
        };
        await applySettings(ctx, ['providers'], () =>
          fs.writeFileSync(
            machineFile,
            JSON.stringify({ ...m, 'backstop.providers': [...(m['backstop.providers'] ?? []), flaky] }),
          ),
        );
        await setChain(ctx, ['flaky/error-503-always']);
        await complete(page);
        const warning = notification(page, /No model in the chain could answer/);
        const countdown = label(page, /^Backstop: \d+:\d\d$/, COMPLETE_TIMEOUT_MS).then(() =>
          statusBar(page).screenshot({ path: path.join(ctx.artifacts, '17-status-exhausted.png') }),
        );
        await warning.waitFor({ timeout: COMPLETE_TIMEOUT_MS });
        await countdown;
        const text = await warning.innerText();
        assert.match(text, /flaky\/error-503-always: server error/);
        const reasons = text.split(' Suggestion:')[0] ?? '';
        assert.equal(reasons.split('flaky/error-503-always').length, 2, `each model once: ${text}`);
        assert.match(text, /The first is back in \d+ s\./);
        assert.doesNotMatch(text, /-32\d{3}/);
        for (const re of RAW_TIME) assert.doesNotMatch(text, re, text);
        await shot(ctx, '17-all-failed-warning');
        await warning.locator('.monaco-button', { hasText: 'Show Attempts' }).first().click();
        await page.waitForTimeout(1500);
        await shot(ctx, '17-attempts-trace');
      } finally {
        fs.writeFileSync(machineFile, before);
        await fault.close();
      }
    },
  },
  {
    name: 'issue 17: the walkthrough, its steps completed by what happened',
    async run(ctx) {
      const { page } = ctx;
      await setChain(ctx, ['cloud/gpt-x', 'local/tiny']);
      await runCommand(page, 'Backstop: Run Failover Drill');
      await notification(page, /drill passed/).waitFor({ timeout: COMPLETE_TIMEOUT_MS });
      await runCommand(page, 'Welcome: Open Walkthrough');
      const row = page
        .locator('.quick-input-widget .monaco-list-row', { hasText: 'Get Started with Backstop' })
        .first();
      await row.waitFor({ timeout: UI_TIMEOUT_MS });
      await row.click();
      const title = page.locator('.gettingStartedContainer', { hasText: 'Get Started with Backstop' }).first();
      await title.waitFor({ timeout: UI_TIMEOUT_MS });
      for (const step of ['Add a provider and its key', 'Choose the chain', 'Run a failover drill', 'Open diagnostics'])
        await title.locator('.getting-started-step', { hasText: step }).first().waitFor({ timeout: UI_TIMEOUT_MS });
      // Done by what happened: a provider answers, the chain has a fallback, the drill passed.
      for (const step of ['Add a provider and its key', 'Choose the chain', 'Run a failover drill'])
        await title
          .locator('.getting-started-step', { hasText: step })
          .first()
          .locator('[role="checkbox"][aria-checked="true"]')
          .first()
          .waitFor({ timeout: UI_TIMEOUT_MS });
      await page.waitForTimeout(500);
      await shot(ctx, '17-walkthrough');
    },
  },
  {
    name: 'issue 17: a machine setting in the User settings of a remote window is named, with Move and Open buttons',
    async run(ctx) {
      const { page } = ctx;
      assert.ok(ctx.userSettings);
      const before = fs.readFileSync(ctx.userSettings, 'utf8');
      const s = JSON.parse(before) as Record<string, unknown>;
      fs.writeFileSync(ctx.userSettings, JSON.stringify({ ...s, 'backstop.local.modelsDirs': ['~/more-models'] }));
      try {
        const hint = notification(page, /backstop\.local\.modelsDirs.*Remote settings/s);
        await hint.waitFor({ timeout: UI_TIMEOUT_MS });
        const text = await hint.innerText();
        assert.match(text, /Move to Remote Settings/);
        assert.match(text, /Open Remote Settings/);
        await shot(ctx, '17-remote-settings-hint');
      } finally {
        // The folder does not exist: leave the settings as they were for the steps after this one.
        fs.writeFileSync(ctx.userSettings, before);
      }
    },
  },
];
