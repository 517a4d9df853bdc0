// What a person sees, driven through the real workbench with the packaged .vsix installed.
// The workspace (scripts/testE2e.mjs) configures an unreachable cloud primary and a generated
// local GGUF model: chain ['cloud/gpt-x', 'local/tiny'].
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { CHAT_MODEL_STEPS } from './chatModels';
import { STATUS_STEPS } from './statusItem';
import { DIAGNOSTICS_STEPS } from './diagnostics';
import {
  backstopStatus,
  COMPLETE_TIMEOUT_MS,
  editorText,
  notification,
  openFile,
  pickQuickItem,
  runCommand,
  UI_TIMEOUT_MS,
  webview,
} from './workbench';

export interface E2eContext {
  page: Page;
  artifacts: string;
  /** The user settings file of the running code-server (a step may change settings through it). */
  userSettings?: string;
}
export interface Step {
  name: string;
  run(ctx: E2eContext): Promise<void>;
}

const SCORE = /^Backstop: (\d+)$/;

async function shot(ctx: E2eContext, name: string): Promise<void> {
  await ctx.page.screenshot({ path: path.join(ctx.artifacts, `${name}.png`) });
}

export const STEPS: Step[] = [
  {
    name: 'the status bar shows the health score from the daemon',
    async run(ctx) {
      const item = backstopStatus(ctx.page);
      // The label changes from "Backstop: Backstop" (starting) to "Backstop: <score>" on the first status.
      await ctx.page.waitForFunction(
        () => {
          const el = document.querySelector('#workbench\\.parts\\.statusbar [aria-label^="Backstop: "]');
          return !!el && /^Backstop: \d+$/.test(el.getAttribute('aria-label') ?? '');
        },
        undefined,
        { timeout: 60_000 },
      );
      // The score moves while the first reachability checks land: read the label and the text together.
      const both = async () => ({
        label: (await item.getAttribute('aria-label')) ?? '',
        text: await item.innerText(),
      });
      let seen = await both();
      for (let i = 0; i < 20 && !new RegExp(`\\b${SCORE.exec(seen.label)?.[1]}\\b`).test(seen.text); i++) {
        await ctx.page.waitForTimeout(250);
        seen = await both();
      }
      const score = Number(SCORE.exec(seen.label)?.[1]);
      assert.ok(score >= 0 && score <= 100, `status bar label "${seen.label}"`);
      assert.match(seen.text, new RegExp(`\\b${score}\\b`), `the item shows the score its label names`);
      await shot(ctx, '01-status-bar');
    },
  },
  {
    name: 'Backstop: Complete inserts text from the local model while the cloud primary fails, and names the fallback',
    async run(ctx) {
      const { page } = ctx;
      await openFile(page, 'hello.js');
      await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
      await page.keyboard.press('Control+End');
      const before = await editorText(page);
      await runCommand(page, 'Backstop: Complete');
      const toast = notification(page, /answered by local\/tiny/);
      await toast.waitFor({ timeout: COMPLETE_TIMEOUT_MS });
      const text = await toast.innerText();
      assert.match(
        text,
        /cloud\/gpt-x: (could not be reached|skipped)/,
        `the notification names the failed primary: ${text}`,
      );
      await page.waitForFunction(
        (b) => {
          const el = document.querySelector('.editor-instance .monaco-editor .view-lines') as HTMLElement | null;
          return !!el && el.innerText !== b;
        },
        before,
        { timeout: UI_TIMEOUT_MS },
      );
      assert.notEqual(await editorText(page), before, 'the editor text changed');
      await shot(ctx, '02-complete-fallback');
      // The tooltip names the last fallback too.
      await backstopStatus(page).hover();
      const hover = page
        .locator('.monaco-hover, .workbench-hover')
        .filter({ hasText: /Last fallback/ })
        .first();
      await hover.waitFor({ timeout: UI_TIMEOUT_MS });
      assert.match(await hover.innerText(), /cloud\/gpt-x.*local\/tiny/s);
      await shot(ctx, '03-status-tooltip');
      await page.keyboard.press('Escape');
    },
  },
  {
    name: 'Backstop: Switch Primary Model from the palette changes the chain',
    async run(ctx) {
      const { page } = ctx;
      await runCommand(page, 'Backstop: Switch Primary Model');
      await pickQuickItem(page, 'local/tiny');
      const toast = notification(page, /primary model is now local\/tiny/);
      await toast.waitFor({ timeout: UI_TIMEOUT_MS });
      assert.match(await toast.innerText(), /local\/tiny → cloud\/gpt-x/);
      await shot(ctx, '04-switch-primary');
    },
  },
  {
    name: 'the diagnostics webview renders the models table',
    async run(ctx) {
      const { page } = ctx;
      await runCommand(page, 'Backstop: Show Diagnostics');
      const frame = webview(page);
      const table = frame.locator('#models-table');
      await table.waitFor({ timeout: UI_TIMEOUT_MS });
      const tiny = table.locator('tr[data-model="local/tiny"]');
      await tiny.waitFor({ timeout: UI_TIMEOUT_MS });
      assert.match(await tiny.innerText(), /primary/, 'the new primary is marked');
      await table.locator('tr[data-model="cloud/gpt-x"]').waitFor({ timeout: UI_TIMEOUT_MS });
      await frame.locator('h2', { hasText: 'Health' }).waitFor({ timeout: UI_TIMEOUT_MS });
      await shot(ctx, '05-diagnostics');
      await frame.locator('#sec-monitor').scrollIntoViewIfNeeded();
      await frame.locator('#set-timeout').waitFor({ timeout: UI_TIMEOUT_MS });
      await shot(ctx, '06-diagnostics-settings');
    },
  },
  ...DIAGNOSTICS_STEPS,
  // Last: they change the chain and the user settings.
  ...STATUS_STEPS,
  // Last: they turn on VS Code's chat, whose view then takes the focus.
  ...CHAT_MODEL_STEPS,
];
