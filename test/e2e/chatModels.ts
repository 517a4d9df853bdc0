// The chain inside VS Code's own model UI (issue 16): the Language Models view lists "Backstop" (the
// chain) and each ready model with their context and capabilities, as registered through
// vscode.lm.registerLanguageModelChatProvider; the Chat view's model picker (code-server, VS Code 1.139)
// offers the chain without any sign-in. Screenshots: 20-vscode-language-models, 21-chat-model-picker.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { E2eContext, Step } from './steps';
import { runCommand, UI_TIMEOUT_MS } from './workbench';

async function shot(ctx: E2eContext, name: string): Promise<void> {
  await ctx.page.screenshot({ path: path.join(ctx.artifacts, `${name}.png`) });
}

/**
 * Chat is off in the rest of the run (its view takes the focus the other steps need): turn it on in the
 * user settings, as a person would, for these last steps.
 */
async function enableChat(ctx: E2eContext): Promise<void> {
  assert.ok(ctx.userSettings, 'the harness passes the user settings file');
  const s = JSON.parse(fs.readFileSync(ctx.userSettings, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(ctx.userSettings, JSON.stringify({ ...s, 'chat.disableAIFeatures': false }));
  // Chat's commands and views register at startup: reload the window, then wait for Backstop's models.
  await ctx.page.waitForTimeout(1000);
  await ctx.page.reload();
  await ctx.page.locator('.monaco-workbench').waitFor({ timeout: UI_TIMEOUT_MS });
  await ctx.page
    .locator('#workbench\\.parts\\.statusbar [aria-label^="Backstop"]')
    .first()
    .waitFor({ timeout: UI_TIMEOUT_MS });
  // Chat and the language model providers register after the window's start: give them a moment.
  await ctx.page.waitForTimeout(2000);
}

export const CHAT_MODEL_STEPS: Step[] = [
  {
    name: "the Chat view's model picker lists the Backstop chain with its health, no sign-in needed",
    async run(ctx) {
      const { page } = ctx;
      await enableChat(ctx);
      await runCommand(page, 'Chat: Open Chat');
      const picker = page.locator('.action-label.model-picker-split, [aria-label^="Models"]').first();
      await picker.waitFor({ timeout: UI_TIMEOUT_MS });
      // Until a provider registers models the picker offers a sign-in; then it names the chosen model.
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll('.action-label.model-picker-split')].some((e) =>
            /Backstop/.test(e.getAttribute('aria-label') ?? ''),
          ),
        undefined,
        { timeout: UI_TIMEOUT_MS },
      );
      await picker.click();
      // The picker's dropdown (an action widget): the chain "Backstop", with its health as detail.
      const menu = page.locator('.context-view .action-widget').first();
      await menu.waitFor({ timeout: UI_TIMEOUT_MS });
      const row = menu.locator('.monaco-list-row').filter({ hasText: 'Backstop' }).first();
      await row.waitFor({ timeout: UI_TIMEOUT_MS });
      const text = await row.innerText();
      await shot(ctx, '21-chat-model-picker');
      assert.match(text, /\d+ models?, \d+ ready/, `the chain's entry says how many of its models are ready: ${text}`);
      await page.keyboard.press('Escape');
    },
  },
  {
    name: "VS Code's Language Models view lists the Backstop chain and its ready model, with the chain's capabilities",
    async run(ctx) {
      const { page } = ctx;
      await runCommand(page, 'Chat: Manage Language Models');
      // The view's model rows (not the palette's or a menu's). Row text runs together
      // ("Backstop2KToolsVision"): the chain's row is the one without a model id.
      const rows = page.locator('.models-model-row');
      const chain = rows
        .filter({ hasText: /^\s*Backstop/ })
        .filter({ hasNotText: '/' })
        .first();
      await chain.waitFor({ timeout: UI_TIMEOUT_MS });
      const local = rows.filter({ hasText: 'local/tiny' }).first();
      await local.waitFor({ timeout: UI_TIMEOUT_MS });
      const chainText = await chain.innerText();
      // The chain [cloud/gpt-x, local/tiny] can call tools and see images (through the cloud model);
      // the local model on its own can do neither.
      assert.match(chainText, /Tools/, chainText);
      assert.match(chainText, /Vision/, chainText);
      assert.doesNotMatch(await local.innerText(), /Tools|Vision/);
      await shot(ctx, '20-vscode-language-models');
      await page.keyboard.press('Escape');
    },
  },
];
