// The diagnostics view as people see it (issue 17): at 600 and 1200 px, in a dark and a light theme,
// nothing overflows sideways, no text shows a raw millisecond count or an ISO timestamp, the daemon's
// history shows the fallback with its reason, monitoring updates live, and the panel comes back after
// a window reload. Runs after steps.ts has completed a request through a failing cloud primary.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import type { E2eContext, Step } from './steps';
import { runCommand, UI_TIMEOUT_MS, webview } from './workbench';

/** "280631 ms", "+280631ms": a millisecond count people have to divide in their head. */
const RAW_MS = /\b\d{4,}\s?ms\b/;
/** "2026-12-05T03:55:12" */
const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
const VIEW_HEIGHT_PX = 900;

async function openView(page: Page): Promise<FrameLocator> {
  await runCommand(page, 'Backstop: Show Diagnostics');
  const frame = webview(page);
  await frame.locator('#models-table').waitFor({ timeout: UI_TIMEOUT_MS });
  return frame;
}

/** Size the browser so the webview itself is `width` px wide (the workbench takes the rest). */
async function sizeView(page: Page, frame: FrameLocator, width: number): Promise<number> {
  const viewWidth = (): Promise<number> => frame.locator('body').evaluate(() => document.documentElement.clientWidth);
  for (let i = 0; i < 3; i++) {
    const page0 = page.viewportSize()?.width ?? 1280;
    const now = await viewWidth();
    if (Math.abs(now - width) <= 2) break;
    await page.setViewportSize({ width: page0 + (width - now), height: VIEW_HEIGHT_PX });
    await page.waitForTimeout(300);
  }
  return viewWidth();
}

/** Switch the colour theme through the Color Theme picker, as a person would, and wait until it shows. */
async function setTheme(page: Page, theme: string, kind: 'vs' | 'vs-dark'): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  // F1 while the last command's picker is still closing would toggle it shut again.
  await widget.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
  await page.keyboard.press('F1');
  const palette = widget.locator('input');
  await palette.waitFor({ timeout: UI_TIMEOUT_MS });
  await palette.fill('>Preferences: Color Theme');
  // Clicked by its title: Enter would take the first row, which may be "Browse Color Themes in Marketplace".
  await widget
    .locator('.monaco-list-row', { hasText: 'Preferences: Color Theme', hasNotText: 'Marketplace' })
    .first()
    .click({ timeout: UI_TIMEOUT_MS });
  // The theme picker itself, not the command palette that is closing ("Select Color Theme …").
  const input = widget.locator('input[placeholder*="Color Theme" i], input[aria-label*="Color Theme" i]');
  await input.waitFor({ timeout: UI_TIMEOUT_MS });
  await input.fill(theme);
  await widget.locator('.monaco-list-row', { hasText: theme }).first().click({ timeout: UI_TIMEOUT_MS });
  await page.locator(`.monaco-workbench.${kind}`).waitFor({ timeout: UI_TIMEOUT_MS });
  await widget.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
  await page.waitForTimeout(500);
}

interface Layout {
  overflowing: string[];
  badText: string[];
  documentOverflow: boolean;
}

/** What must hold at any width: no table wider than its box, no raw times in the text. */
async function checkLayout(frame: FrameLocator): Promise<Layout> {
  return frame.locator('body').evaluate(
    (body: HTMLElement, patterns: string[]) => {
      const [rawMs, iso] = patterns.map((p) => new RegExp(p));
      const overflowing = [...document.querySelectorAll<HTMLElement>('.table-scroll')]
        .filter((t) => t.clientWidth > 0 && t.scrollWidth > t.clientWidth)
        .map((t) => `${t.firstElementChild?.id ?? '?'}: ${t.scrollWidth} > ${t.clientWidth}`);
      const lines = body.innerText.split('\n');
      const badText = lines.filter((l) => rawMs?.test(l) || iso?.test(l));
      const d = document.documentElement;
      return { overflowing, badText, documentOverflow: d.scrollWidth > d.clientWidth };
    },
    [RAW_MS.source, ISO.source],
  );
}

async function shoot(ctx: E2eContext, frame: FrameLocator, name: string): Promise<void> {
  await frame.locator('#sec-header').scrollIntoViewIfNeeded();
  await ctx.page.screenshot({ path: path.join(ctx.artifacts, `${name}-top.png`) });
  await frame.locator('#sec-settings').scrollIntoViewIfNeeded();
  await ctx.page.screenshot({ path: path.join(ctx.artifacts, `${name}-bottom.png`) });
}

export const DIAGNOSTICS_STEPS: Step[] = [
  {
    name: 'diagnostics: the daemon history shows the fallback with its reason; the stats count it',
    async run(ctx) {
      const frame = await openView(ctx.page);
      const fallback = frame.locator('ol.events li', { hasText: 'cloud/gpt-x → local/tiny' }).first();
      await fallback.waitFor({ timeout: UI_TIMEOUT_MS });
      assert.match(await fallback.innerText(), /fallback/);
      const stats = await frame.locator('#stats-line').innerText();
      assert.match(stats, /\b[1-9]\d* fell back\b/, `the stats line counts the fallback: ${stats}`);
    },
  },
  {
    name: 'diagnostics at 600 and 1200 px, dark and light: no table overflows, no raw ms or ISO times',
    async run(ctx) {
      const { page } = ctx;
      const frame = await openView(page);
      await runCommand(page, 'View: Close Primary Side Bar');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
      for (const [theme, label, kind] of [
        ['Dark 2026', 'dark', 'vs-dark'],
        ['Light 2026', 'light', 'vs'],
      ] as const) {
        await setTheme(page, theme, kind);
        for (const width of [600, 1200]) {
          const got = await sizeView(page, frame, width);
          assert.ok(Math.abs(got - width) <= 4, `the view is ${got} px wide, wanted ${width}`);
          const layout = await checkLayout(frame);
          assert.deepEqual(layout.overflowing, [], `tables wider than the view at ${width} px (${label})`);
          assert.equal(layout.documentOverflow, false, `the page scrolls sideways at ${width} px (${label})`);
          assert.deepEqual(layout.badText, [], `raw ms or ISO text at ${width} px (${label})`);
          await shoot(ctx, frame, `07-diagnostics-${width}-${label}`);
        }
      }
      // The model ids never break inside a name: the part after the provider stays on one line.
      const names = await frame
        .locator('#models-table .mid .nowrap:last-child')
        .evaluateAll((els) => els.map((e) => e.getClientRects().length));
      assert.ok(names.length > 0 && names.every((n) => n === 1), `model names on one line: ${names.join(', ')}`);
      await setTheme(page, 'Light 2026', 'vs');
      await page.setViewportSize({ width: 1280, height: 800 });
    },
  },
  {
    name: 'diagnostics: monitoring charts health while it runs; the chosen duration stays',
    async run(ctx) {
      const frame = await openView(ctx.page);
      const duration = frame.locator('#mon-duration input');
      await duration.fill('12');
      await duration.press('Tab');
      await frame.locator('vscode-button[data-key="mon-start"]').click();
      const summary = frame.locator('#mon-summary');
      await summary.waitFor({ timeout: UI_TIMEOUT_MS });
      await frame.locator('#sec-monitor svg.chart').waitFor({ timeout: UI_TIMEOUT_MS });
      // Live: several samples while the session still runs (Stop is enabled), before anyone stops it.
      await assert.doesNotReject(
        frame
          .locator('#mon-summary', { hasText: /\b([3-9]|\d\d) samples over .* so far/ })
          .waitFor({ timeout: UI_TIMEOUT_MS }),
      );
      assert.equal(await frame.locator('vscode-button[data-key="mon-stop"]').getAttribute('disabled'), null);
      assert.equal(await duration.inputValue(), '12', 'the duration box keeps the chosen value');
      await frame.locator('#sec-monitor').scrollIntoViewIfNeeded();
      await ctx.page.screenshot({ path: path.join(ctx.artifacts, '08-diagnostics-monitoring-live.png') });
      await frame.locator('vscode-button[data-key="mon-stop"]').click();
      await frame.locator('#mon-summary', { hasText: /samples over/ }).waitFor({ timeout: UI_TIMEOUT_MS });
    },
  },
  {
    name: 'diagnostics: the panel comes back after a window reload',
    async run(ctx) {
      const { page } = ctx;
      await openView(page);
      await page.reload();
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      // Restored by the serializer, not reopened by us.
      await webview(page).locator('#models-table').waitFor({ timeout: 60_000 });
      await page.screenshot({ path: path.join(ctx.artifacts, '09-diagnostics-restored.png') });
    },
  },
];
