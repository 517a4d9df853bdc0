// API keys live in VS Code's SecretStorage (OS keychain), one per provider id, and reach the daemon
// only in memory through backstop/setSecret: never in settings, never in a log line.
import type * as vscode from 'vscode';

const KEY_PREFIX = 'backstop.apiKey.';
/** SecretStorage cannot list its keys, so remember which providers have one. */
const PROVIDERS_STATE_KEY = 'backstop.apiKeyProviders';

export class ApiKeys {
  constructor(private readonly context: vscode.ExtensionContext) {}

  async set(providerId: string, apiKey: string): Promise<void> {
    await this.context.secrets.store(KEY_PREFIX + providerId, apiKey);
    await this.remember(providerId, true);
  }

  async clear(providerId: string): Promise<void> {
    await this.context.secrets.delete(KEY_PREFIX + providerId);
    await this.remember(providerId, false);
  }

  get(providerId: string): Thenable<string | undefined> {
    return this.context.secrets.get(KEY_PREFIX + providerId);
  }

  /** Provider ids that have a stored key. */
  stored(): string[] {
    return this.context.globalState.get<string[]>(PROVIDERS_STATE_KEY, []);
  }

  /** Fires with the provider id whose key changed (in this window or another one). */
  onDidChange(listener: (providerId: string) => void): vscode.Disposable {
    return this.context.secrets.onDidChange((e) => {
      if (e.key.startsWith(KEY_PREFIX)) listener(e.key.slice(KEY_PREFIX.length));
    });
  }

  private async remember(providerId: string, has: boolean): Promise<void> {
    const ids = new Set(this.stored());
    if (has) ids.add(providerId);
    else ids.delete(providerId);
    await this.context.globalState.update(PROVIDERS_STATE_KEY, [...ids]);
  }
}
