// Run-time configuration edits (backstop/setConfig, setChain, setPrimary, `backstop chain set`) kept
// in <stateDir>/config-edits.json, so they survive a restart and a kill -9: each edit is written
// synchronously and atomically (temp file, fsync, rename) before the call is answered. Edits are
// rare and never on the request path.
//
// The rule (docs/configuration.md): an edit is stored per setting (a leaf path such as `chain` or
// `circuit.cooldownMs`) together with the value the config file had there when the edit was made,
// and the value the VS Code setting had, when settings were in play. At start the edit applies
// while the config file (and the VS Code setting) still hold those values for that setting; once
// either was changed for the same setting, the file or the setting wins.
import fs from 'node:fs';
import path from 'node:path';
import { type Config, mergeConfig, validateConfig, formatIssues } from '../../protocol/config';
import type { Logger } from '../core/types';
import { writeFileAtomicSync } from '../store/atomicFile';

export const CONFIG_EDITS_FILE = 'config-edits.json';
const FORMAT_VERSION = 1;

/** A setting's place in the config: object keys from the top (arrays are values, never entered). */
export type ConfigPath = readonly string[];

export interface ConfigEdit {
  path: ConfigPath;
  /** The value the edit set (as validated). */
  value: unknown;
  /** Canonical JSON of the config file's value at `path` when the edit was made. */
  file: string;
  /** Canonical JSON of the VS Code setting at `path` when the edit was made, when one was sent. */
  settings?: string;
  /** When the edit was made (ISO time). */
  at: string;
}

interface EditsFile {
  version: number;
  edits: ConfigEdit[];
}

const ABSENT = '~absent';

/** JSON with sorted object keys, so equal values compare equal. */
export function canonical(v: unknown): string {
  if (v === undefined) return ABSENT;
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isPlainObject(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  return v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every leaf a patch sets: plain objects are entered, anything else (arrays too) is one value. */
export function leafPaths(patch: unknown, prefix: string[] = []): string[][] {
  if (!isPlainObject(patch)) return patch === undefined || prefix.length === 0 ? [] : [prefix];
  return Object.entries(patch).flatMap(([k, v]) => (v === undefined ? [] : leafPaths(v, [...prefix, k])));
}

export function valueAt(obj: unknown, p: ConfigPath): unknown {
  let node = obj;
  for (const k of p) {
    if (!isPlainObject(node) || !Object.prototype.hasOwnProperty.call(node, k)) return undefined;
    node = node[k];
  }
  return node;
}

/** A patch that sets `value` at `p`. */
function patchAt(p: ConfigPath, value: unknown): unknown {
  return p.reduceRight<unknown>((inner, k) => ({ [k]: inner }), value);
}

const samePath = (a: ConfigPath, b: ConfigPath) => a.length === b.length && a.every((k, i) => k === b[i]);
const overlaps = (a: ConfigPath, b: ConfigPath) =>
  a.slice(0, b.length).every((k, i) => k === b[i]) || b.slice(0, a.length).every((k, i) => k === a[i]);
const label = (p: ConfigPath) => p.join('.');

export class ConfigEdits {
  readonly file: string;
  private edits: ConfigEdit[];

  constructor(
    stateDir: string,
    private readonly log: Pick<Logger, 'info' | 'warn' | 'error'>,
  ) {
    this.file = path.join(stateDir, CONFIG_EDITS_FILE);
    this.edits = this.read();
  }

  /** The stored edits (tests, diagnostics). */
  list(): readonly ConfigEdit[] {
    return this.edits;
  }

  /**
   * The configuration to run with: `base` (the config file, with the VS Code settings merged over it
   * when `settings` is given) plus every stored edit that still applies. Edits that no longer apply
   * are logged and stay stored (the rule is evaluated at every start).
   */
  effective(fileConfig: Config, base: Config, settings?: unknown): Config {
    let adopted = false;
    const applicable: ConfigEdit[] = [];
    for (const e of this.edits) {
      if (canonical(valueAt(fileConfig, e.path)) !== e.file) {
        this.log.info(
          `run-time edit of ${label(e.path)} (${e.at}) not applied: the config file has changed ${label(e.path)} since`,
        );
        continue;
      }
      const s = settings === undefined ? undefined : valueAt(settings, e.path);
      if (s !== undefined) {
        if (e.settings === undefined) {
          // Made without VS Code: the setting as it is now becomes what a later change is measured by.
          e.settings = canonical(s);
          adopted = true;
        } else if (e.settings !== canonical(s)) {
          this.log.info(
            `run-time edit of ${label(e.path)} (${e.at}) not applied: the VS Code setting has changed since`,
          );
          continue;
        }
      }
      applicable.push(e);
    }
    if (adopted) this.write();
    if (applicable.length === 0) return base;
    const all = validateConfig(applicable.reduce<unknown>((c, e) => mergeConfig(c, patchAt(e.path, e.value)), base));
    if (all.ok) {
      this.log.info(`run-time edits applied: ${applicable.map((e) => label(e.path)).join(', ')}`);
      return all.config;
    }
    // One at a time, so one edit the current file makes invalid does not discard the others.
    let cur = base;
    for (const e of applicable) {
      const r = validateConfig(mergeConfig(cur, patchAt(e.path, e.value)));
      if (r.ok) cur = r.config;
      else this.log.warn(`run-time edit of ${label(e.path)} not applied: ${formatIssues(r.issues)}`);
    }
    return cur;
  }

  /**
   * Store the settings a run-time patch changed, with the values `effective` (the validated
   * configuration after the patch) holds for them. Written before the caller answers.
   */
  record(patch: unknown, effective: Config, fileConfig: Config, settings?: unknown): void {
    const at = new Date().toISOString();
    let changed = false;
    for (const p of leafPaths(patch)) {
      const value = valueAt(effective, p);
      if (value === undefined) continue;
      this.edits = this.edits.filter((e) => !overlaps(e.path, p) || samePath(e.path, p));
      const s = settings === undefined ? undefined : valueAt(settings, p);
      const edit: ConfigEdit = {
        path: p,
        value,
        file: canonical(valueAt(fileConfig, p)),
        ...(s !== undefined ? { settings: canonical(s) } : {}),
        at,
      };
      const i = this.edits.findIndex((e) => samePath(e.path, p));
      if (i >= 0) this.edits[i] = edit;
      else this.edits.push(edit);
      changed = true;
    }
    if (changed) this.write();
  }

  private read(): ConfigEdit[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn(`cannot read ${this.file}: ${(e as Error).message}; run-time edits not applied`);
      return [];
    }
    try {
      const v = JSON.parse(text) as Partial<EditsFile> | null;
      if (!isPlainObject(v) || !Array.isArray(v.edits)) throw new Error('not an edits file');
      return v.edits.filter(
        (e): e is ConfigEdit =>
          isPlainObject(e) &&
          Array.isArray(e.path) &&
          e.path.length > 0 &&
          e.path.every((k) => typeof k === 'string') &&
          typeof e.file === 'string' &&
          typeof e.at === 'string' &&
          (e.settings === undefined || typeof e.settings === 'string') &&
          e.value !== undefined,
      );
    } catch (e) {
      this.log.warn(`${this.file} is unreadable (${(e as Error).message}); run-time edits not applied`);
      return [];
    }
  }

  private write(): void {
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const data: EditsFile = { version: FORMAT_VERSION, edits: this.edits };
      writeFileAtomicSync(this.file, JSON.stringify(data, null, 2) + '\n');
    } catch (e) {
      this.log.error(`cannot save run-time edits to ${this.file}: ${(e as Error).message}; they last until a restart`);
    }
  }
}
