// Read a JSON (with comments and trailing commas, as VS Code's settings.json) or YAML config file and
// validate it. Errors name the file, the line and column or the key, and the reason.
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseJsonc, printParseErrorCode, visit, type ParseError } from 'jsonc-parser';
import { type Config, type ConfigIssue, formatIssues, validateConfig } from '../../protocol/config';
import { expandHome } from '../state/paths';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function parseConfigText(text: string, file: string): unknown {
  if (!/\.ya?ml$/i.test(file)) return parseJsonText(text, file);
  let value: unknown;
  try {
    // Warnings (a collection used as a key is stringified) would go to stderr: the schema judges.
    // yaml is loaded by the first YAML file: most configs are JSON (issue 21: startup, RSS).
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: esbuild bundles it, runs it here
    const { parseDocument } = require('yaml') as typeof import('yaml');
    const doc = parseDocument(text, { logLevel: 'error' });
    if (doc.errors.length > 0) throw doc.errors[0]!;
    // An empty document (nothing, or only comments) is not a configuration either.
    value = doc.contents === null ? undefined : (doc.toJS() as unknown);
  } catch (e) {
    throw new ConfigError(`${file}: not valid YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (value === undefined) {
    throw new ConfigError(`${file}: the file is empty: write a YAML object of config keys ({} for the defaults)`);
  }
  return value;
}

/** JSON with comments and trailing commas (JSONC); the first error is reported with its line and column. */
function parseJsonText(text: string, file: string): unknown {
  const errors: ParseError[] = [];
  const value = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false }) as unknown;
  const first = errors[0];
  if (first) {
    const before = text.slice(0, first.offset).split('\n');
    const where = `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
    throw new ConfigError(
      `${file}: not valid JSON: ${describeJsonError(printParseErrorCode(first.error))} at ${where}`,
    );
  }
  // The parser assigns keys as properties: "__proto__" would set the object's prototype, not a key.
  let proto = false;
  visit(text, { onObjectProperty: (name) => void (proto ||= name === '__proto__') });
  if (proto) throw new ConfigError(`${file}: "__proto__" is not a configuration key: remove it`);
  return value;
}

/** "PropertyNameExpected" → "property name expected". */
function describeJsonError(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

export function loadConfigFile(file: string): Config {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(
      `cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  return checkConfig(parseConfigText(text, file), file);
}

const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);

/**
 * A configuration read from `source`: it must be an object of config keys. Folders are checked
 * for what can never be right (a filesystem root); that they exist is checked when they are applied
 * at run time (`folderIssues`), so a file may name a folder that is created later.
 */
export function checkConfig(raw: unknown, source: string): Config {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`invalid configuration in ${source}: expected an object of config keys, got ${kindOf(raw)}`);
  }
  const r = validateConfig(raw);
  if (!r.ok) throw new ConfigError(`invalid configuration in ${source}: ${formatIssues(r.issues)}`);
  const issues = folderIssues(r.config, { mustExist: false });
  if (issues.length) throw new ConfigError(`invalid configuration in ${source}: ${formatIssues(issues)}`);
  return r.config;
}

/** Why `dir` cannot be a models folder, or undefined. */
export function folderProblem(dir: string, mustExist: boolean): string | undefined {
  const shown = JSON.stringify(dir);
  if (dir.trim() === '') return 'an empty folder path: name a folder';
  if (dir.includes('\0')) return `${shown} contains a NUL character`;
  const abs = path.resolve(expandHome(dir));
  if (isRoot(abs)) return `${shown} is a filesystem root: name the folder that holds the models`;
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!mustExist && code === 'ENOENT') return undefined;
    return code === 'ENOENT' ? `${shown} does not exist` : `${shown} cannot be read (${code ?? (e as Error).message})`;
  }
  if (!st.isDirectory()) return `${shown} is not a directory`;
  try {
    if (isRoot(fs.realpathSync(abs)))
      return `${shown} leads to a filesystem root: name the folder that holds the models`;
  } catch {
    // statSync succeeded: the real path can only fail on a race; the checks above stand.
  }
  return undefined;
}

function isRoot(abs: string): boolean {
  return path.parse(abs).root === abs;
}

/**
 * The folder settings of `config` that cannot be used, by key (`providers.0.modelsDirs.0`). Folders
 * also present in `unchanged` (the configuration already running) are not checked again, so an
 * unrelated change is not refused because a folder went away since it was applied.
 */
export function folderIssues(config: Config, opts: { mustExist: boolean; unchanged?: Config }): ConfigIssue[] {
  const known = new Set<string>();
  for (const p of opts.unchanged?.providers ?? [])
    if (p.type === 'local') for (const d of p.modelsDirs ?? []) known.add(d);
  const issues: ConfigIssue[] = [];
  config.providers.forEach((p, i) => {
    if (p.type !== 'local') return;
    (p.modelsDirs ?? []).forEach((dir, j) => {
      if (known.has(dir)) return;
      const problem = folderProblem(dir, opts.mustExist);
      if (problem !== undefined) issues.push({ path: `providers.${i}.modelsDirs.${j}`, message: problem });
    });
  });
  return issues;
}
