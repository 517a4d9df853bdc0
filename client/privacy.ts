// The local-only privacy guard, client side: whether requests made for a document (inline completions,
// Backstop: Complete, chat while it is the active editor) must stay on this machine. The daemon enforces
// it (cloud models are skipped, "privacy: local only"); the client only says which requests carry it.
import * as vscode from 'vscode';
import { CLIENT_SETTINGS, SECTION } from './settings';

/**
 * True when backstop.privacy.localOnly is on for the document's folder (or the workspace, without a
 * document), or the document matches one of backstop.privacy.localOnlyFiles.
 */
export function localOnlyFor(doc: vscode.TextDocument | undefined): boolean {
  const c = vscode.workspace.getConfiguration(SECTION, doc?.uri);
  if (c.get(CLIENT_SETTINGS.privacyLocalOnly) === true) return true;
  if (!doc) return false;
  const globs = c.get<unknown>(CLIENT_SETTINGS.privacyLocalOnlyFiles);
  if (!Array.isArray(globs)) return false;
  return globs.some((g) => typeof g === 'string' && g.length > 0 && vscode.languages.match({ pattern: g }, doc) > 0);
}

/** The request field for a document: `{ localOnly: true }` under the guard, nothing otherwise. */
export function guardFor(doc: vscode.TextDocument | undefined): { localOnly?: true } {
  return localOnlyFor(doc) ? { localOnly: true } : {};
}

/** Fires when the guard may have changed for the active editor (editor switch, settings edit). */
export function onGuardMayChange(listener: () => void): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.window.onDidChangeActiveTextEditor(listener),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${SECTION}.privacy`)) listener();
    }),
  );
}

/** Tell `show` whether the guard applies to the active editor, now and whenever that may change (the lock). */
export function watchGuard(show: (localOnly: boolean) => void): vscode.Disposable {
  const apply = () => show(localOnlyFor(vscode.window.activeTextEditor?.document));
  apply();
  return onGuardMayChange(apply);
}
