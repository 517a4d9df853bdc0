// backstop.* settings → the daemon's configuration (a Partial Config). Pure: takes a getter, so unit
// tests drive it without VS Code. The daemon validates; the client only maps names.
import type { ConfigInput } from '../protocol/config';

export const SECTION = 'backstop';

/** Settings that mirror a daemon config key (setting key → config path). */
export const DAEMON_SETTINGS = [
  'providers',
  'chain',
  'strategy',
  'timeoutMs',
  'maxRetries',
  'autoSwitch',
  'monitorVram',
  'local.modelsDirs',
  'inline.chain',
  'inline.timeoutMs',
  'inline.maxTokens',
  'inline.budgetMs',
  'chat.chain',
] as const;
export type DaemonSetting = (typeof DAEMON_SETTINGS)[number];

/** Settings whose daemon config path is not their own key (per-purpose chains and budgets). */
const CONFIG_PATHS: Partial<Record<DaemonSetting, readonly string[]>> = {
  'inline.budgetMs': ['purposes', 'inline', 'budgetMs'],
  'chat.chain': ['purposes', 'chat', 'chain'],
};

/** The daemon config path a setting feeds ("inline.budgetMs" → ["purposes", "inline", "budgetMs"]). */
export function configPathOf(key: DaemonSetting): readonly string[] {
  return CONFIG_PATHS[key] ?? key.split('.');
}

/** Settings the client uses itself. */
export const CLIENT_SETTINGS = {
  inlineEnabled: 'inlineCompletions.enabled',
  inlineDebounceMs: 'inline.debounceMs',
  completeMaxTokens: 'complete.maxTokens',
  privacyLocalOnly: 'privacy.localOnly',
  privacyLocalOnlyFiles: 'privacy.localOnlyFiles',
  wsPort: 'server.wsPort',
  statusBarCompact: 'statusBar.compact',
} as const;

export type SettingGetter = (key: string) => unknown;

/** The whole daemon config from settings (sent as initializationOptions.config). */
export function configFromSettings(get: SettingGetter): ConfigInput {
  return configSubset(get, () => true) ?? {};
}

/** Only the keys whose settings changed (sent with backstop/setConfig); undefined when none did. */
export function configSubset(get: SettingGetter, changed: (key: DaemonSetting) => boolean): ConfigInput | undefined {
  const out: Record<string, unknown> = {};
  const inline: Record<string, unknown> = {};
  let any = false;
  for (const key of DAEMON_SETTINGS) {
    if (!changed(key)) continue;
    any = true;
    const value = get(key);
    const path = CONFIG_PATHS[key];
    if (path) {
      if (value !== undefined) setPath(out, path, value);
    } else if (key === 'providers' || key === 'local.modelsDirs') {
      out.providers = withModelsDirs(get('providers'), get('local.modelsDirs'));
    } else if (key.startsWith('inline.')) {
      if (value !== undefined) inline[key.slice('inline.'.length)] = value;
    } else if (value !== undefined) {
      out[key] = value;
    }
  }
  if (Object.keys(inline).length) out.inline = inline;
  return any ? (out as ConfigInput) : undefined;
}

/**
 * `backstop.local.modelsDirs` adds folders to every local provider, and creates a provider "local"
 * when none is configured, so the common case needs one setting instead of a provider object.
 */
export function withModelsDirs(providers: unknown, dirs: unknown): unknown {
  const list = Array.isArray(providers) ? providers : [];
  const extra = Array.isArray(dirs) ? dirs.filter((d): d is string => typeof d === 'string' && d.length > 0) : [];
  if (!extra.length) return providers ?? [];
  let sawLocal = false;
  const merged = list.map((p: unknown) => {
    if (typeof p !== 'object' || p === null || (p as { type?: unknown }).type !== 'local') return p;
    sawLocal = true;
    const own = (p as { modelsDirs?: unknown }).modelsDirs;
    const ownDirs = Array.isArray(own) ? own : [];
    return { ...p, modelsDirs: [...new Set([...ownDirs, ...extra])] };
  });
  if (!sawLocal) merged.push({ id: uniqueId('local', list), type: 'local', modelsDirs: extra });
  return merged;
}

function uniqueId(base: string, list: unknown[]): string {
  const ids = new Set(list.map((p) => (typeof p === 'object' && p !== null ? (p as { id?: unknown }).id : undefined)));
  let id = base;
  for (let i = 2; ids.has(id); i++) id = `${base}${i}`;
  return id;
}

/** The setting a daemon config path came from ("inline.timeoutMs" → "backstop.inline.timeoutMs"). */
export function settingForConfigPath(path: string): string {
  for (const [key, p] of Object.entries(CONFIG_PATHS)) if (path.startsWith(p.join('.'))) return `${SECTION}.${key}`;
  const parts = path.split('.');
  const two = parts.slice(0, 2).join('.');
  if ((DAEMON_SETTINGS as readonly string[]).includes(two)) return `${SECTION}.${two}`;
  const first = parts[0] ?? path;
  return `${SECTION}.${(DAEMON_SETTINGS as readonly string[]).includes(first) ? first : path}`;
}

/** Find the config path a daemon validation message names (it starts with "<path>: …" per formatIssues). */
export function configPathInMessage(message: string): string | undefined {
  const m =
    /(?:^|[\s;'"`])((?:providers|chain|strategy|timeoutMs|maxRetries|autoSwitch|monitorVram|inline|purposes)(?:\.[\w-]+)*)\b/.exec(
      message,
    );
  return m?.[1];
}

/** out[a][b][c] = value, creating the objects on the way. */
function setPath(out: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = out;
  for (const k of path.slice(0, -1)) {
    const next = cur[k];
    cur = (cur[k] = typeof next === 'object' && next !== null ? next : {}) as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined) cur[last] = value;
}
