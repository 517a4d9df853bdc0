// Which models the user named (the diagnostics view lists these first and folds the rest away).
// Pure: no vscode import, unit-tested.
import os from 'node:os';
import path from 'node:path';
import type { ModelInfo } from '../protocol/types';

export type DaemonConfig = { chain: string[]; providers: { id: string; models?: string[]; modelsDirs?: string[] }[] };

/**
 * The models the user named: the chain, each provider's `models`, and the local models found in a
 * provider's own `modelsDirs` (not in the well-known folders it also scans).
 */
export function configuredModels(config: DaemonConfig, models: readonly ModelInfo[]): string[] {
  const out = new Set<string>(config.chain);
  const home = (d: string): string => path.resolve(d.replace(/^~(?=$|[\\/])/, os.homedir()));
  for (const p of config.providers) {
    for (const n of p.models ?? []) out.add(`${p.id}/${n}`);
    const dirs = (p.modelsDirs ?? []).map(home);
    if (!dirs.length) continue;
    for (const m of models) {
      if (m.provider !== p.id || !m.path) continue;
      const file = path.resolve(m.path);
      if (dirs.some((d) => file === d || file.startsWith(d + path.sep))) out.add(m.id);
    }
  }
  return [...out];
}
