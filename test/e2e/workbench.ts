// Small page helpers for driving the VS Code workbench in the browser (code-server).
import type { FrameLocator, Locator, Page } from 'playwright-core';

export const UI_TIMEOUT_MS = 30_000;
/** A completion goes through a failing cloud model first, then loads and runs the local one. */
export const COMPLETE_TIMEOUT_MS = 90_000;

export function statusBar(page: Page): Locator {
  return page.locator('#workbench\\.parts\\.statusbar');
}

/** Our status bar entry, found by the accessibility label the extension sets ("Backstop: 87"). */
export function backstopStatus(page: Page): Locator {
  return statusBar(page).locator('[aria-label^="Backstop: "]').first();
}

/**
 * Keys go to the focused element: a webview (the diagnostics view, restored after a reload) keeps them
 * from the workbench. Blur it so the workbench's own keybindings (F1, Ctrl+P) get them.
 */
export async function focusWorkbench(page: Page): Promise<void> {
  await page.evaluate(() => {
    const active = document.activeElement;
    if (active instanceof HTMLElement && active.tagName === 'IFRAME') active.blur();
  });
}

export async function runCommand(page: Page, title: string): Promise<void> {
  await focusWorkbench(page);
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: UI_TIMEOUT_MS });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ timeout: UI_TIMEOUT_MS });
  await page.keyboard.press('Enter');
  // Enter can land while the list is still being filtered and run nothing: then the palette stays open
  // with our text in it, and clicking the row runs the command. A command that opens its own pick
  // reuses the widget, with other text in the input.
  if (!(await paletteLeft(page, `>${title}`, 3_000))) {
    await row.click();
    if (!(await paletteLeft(page, `>${title}`, UI_TIMEOUT_MS))) throw new Error(`the palette did not run "${title}"`);
  }
}

/** The palette no longer shows `text`: closed, or reused by the command's own input. */
function paletteLeft(page: Page, text: string, timeout: number): Promise<boolean> {
  return page
    .waitForFunction(
      (t) => {
        const w = document.querySelector<HTMLElement>('.quick-input-widget');
        const input = w?.querySelector<HTMLInputElement>('input');
        return (
          !w || getComputedStyle(w).display === 'none' || w.getBoundingClientRect().height === 0 || input?.value !== t
        );
      },
      text,
      { timeout },
    )
    .then(
      () => true,
      () => false,
    );
}

/** Pick the row of an open QuickPick that contains `text`. */
export async function pickQuickItem(page: Page, text: string): Promise<void> {
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: text }).first();
  await row.waitFor({ timeout: UI_TIMEOUT_MS });
  await row.click();
}

export async function openFile(page: Page, name: string): Promise<void> {
  // Already open behind another editor (a webview that keeps the keyboard): its tab brings it forward.
  const tab = page.locator('.tabs-container .tab', { hasText: name }).first();
  if ((await tab.count()) > 0) {
    await tab.click();
    await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor({ timeout: UI_TIMEOUT_MS });
    return;
  }
  await focusWorkbench(page);
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: UI_TIMEOUT_MS });
  await input.fill(name);
  await page
    .locator('.quick-input-list .monaco-list-row', { hasText: name })
    .first()
    .waitFor({ timeout: UI_TIMEOUT_MS });
  await page.keyboard.press('Enter');
  await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor({ timeout: UI_TIMEOUT_MS });
}

export function editorText(page: Page): Promise<string> {
  return page.locator('.editor-instance .monaco-editor .view-lines').first().innerText();
}

/** A notification toast whose text matches. */
export function notification(page: Page, text: RegExp): Locator {
  return page
    .locator('.notification-toast, .notifications-toasts .notification-list-item')
    .filter({ hasText: text })
    .first();
}

/** The content frame of the webview panel with this title. */
export function webview(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}
