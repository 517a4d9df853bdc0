// Generates `contributes.configuration` in package.json from protocol/settings.ts, whose daemon
// settings take their schemas from the daemon's config schema: the Settings editor and the daemon
// agree on types, enums, bounds and defaults because they are written once.
// usage: tsx scripts/genSettings.ts [--check]   (--check: exit 1 when package.json is out of date)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  SETTINGS,
  SETTINGS_TITLE,
  sentence,
  type PropertyMeta,
  type SettingDeclaration,
  type SettingMeta,
} from '../protocol/settings';

export type Json = { [key: string]: unknown };

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PACKAGE_JSON = path.join(ROOT, 'package.json');
export const STALE_MESSAGE = 'package.json settings are out of date: run npm run gen:settings';

/** Which variants of a merged union hold a property (see `mergeObjectUnion`); read by `applyPropertyMeta`. */
const VARIANTS_NOTE = Symbol('variantsNote');

/** The `contributes.configuration` object of package.json. */
export function buildConfiguration(settings: Readonly<Record<string, SettingDeclaration>> = SETTINGS): Json {
  const properties: Json = {};
  for (const [key, decl] of Object.entries(settings)) properties[key] = settingSchema(key, decl);
  // A round trip through JSON: plain data, exactly what package.json will hold.
  return JSON.parse(JSON.stringify({ title: SETTINGS_TITLE, properties })) as Json;
}

/** One setting: the JSON Schema of its value, its default, then what only VS Code reads. */
export function settingSchema(key: string, decl: SettingDeclaration): Json {
  const { default: value, ...schema } = valueSchema(decl.schema);
  if (value === undefined) throw new Error(`${key}: the schema has no default`);
  const out: Json = { ...schema, default: value };
  applyMeta(out, decl.meta, key);
  return out;
}

/** The JSON Schema of a zod schema, without what VS Code does not need or cannot show. */
export function valueSchema(schema: z.ZodType): Json {
  const json = z.toJSONSchema(schema, {
    target: 'draft-07',
    // Settings are what users write: defaults make keys optional, as the daemon's parse does.
    io: 'input',
    unrepresentable: 'throw',
    override: ({ zodSchema, jsonSchema }) => {
      const message = regexMessage(zodSchema);
      if (message !== undefined && typeof jsonSchema.pattern === 'string') {
        (jsonSchema as Json).patternErrorMessage = sentence(message);
      }
    },
  }) as Json;
  delete json.$schema;
  return tidy(json);
}

/** The message of a string schema's one regex check, shown by VS Code when the pattern fails. */
function regexMessage(schema: z.core.$ZodType): string | undefined {
  const def = schema._zod.def;
  if (def.type !== 'string') return undefined;
  const regexes = (def.checks ?? [])
    .map((c) => c._zod.def as { format?: string; error?: (issue: unknown) => unknown })
    .filter((c) => c.format === 'regex');
  const error = regexes.length === 1 ? regexes[0]?.error : undefined;
  if (!error) return undefined;
  const message = error({});
  return typeof message === 'string' ? message : undefined;
}

const SCHEMA_MAPS = ['properties', 'definitions', '$defs'] as const;
const SCHEMA_VALUES = ['items', 'additionalProperties', 'propertyNames', 'not', 'if', 'then', 'else'] as const;
const SCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf'] as const;

/**
 * Simplify a generated schema, children first (never touching `default`, `enum` or `const` values).
 * `inUnion`: a branch of anyOf/oneOf, left for the enclosing union to merge.
 */
function tidy(schema: Json, inUnion = false): Json {
  let s: Json = { ...schema };
  for (const k of SCHEMA_MAPS) {
    if (isObject(s[k])) s[k] = Object.fromEntries(Object.entries(s[k]).map(([n, v]) => [n, isObject(v) ? tidy(v) : v]));
  }
  for (const k of SCHEMA_VALUES) if (isObject(s[k])) s[k] = tidy(s[k]);
  for (const k of SCHEMA_LISTS) {
    const list = s[k];
    if (Array.isArray(list)) s[k] = list.map((v: unknown) => (isObject(v) ? tidy(v, k !== 'allOf') : v));
  }
  // Record keys are strings in JSON anyway.
  if (isObject(s.propertyNames) && sameJson(s.propertyNames, { type: 'string' })) delete s.propertyNames;
  if (s.type === 'integer') {
    // zod bounds every integer by the safe range; VS Code need not show that.
    if (s.maximum === Number.MAX_SAFE_INTEGER) delete s.maximum;
    if (s.minimum === Number.MIN_SAFE_INTEGER) delete s.minimum;
    if (typeof s.exclusiveMinimum === 'number' && s.minimum === undefined) {
      s = replaceKey(s, 'exclusiveMinimum', 'minimum', s.exclusiveMinimum + 1);
    }
    if (typeof s.exclusiveMaximum === 'number' && s.maximum === undefined) {
      s = replaceKey(s, 'exclusiveMaximum', 'maximum', s.exclusiveMaximum - 1);
    }
  }
  for (const k of ['anyOf', 'oneOf'] as const) {
    const list = s[k];
    if (!Array.isArray(list)) continue;
    const nullable = nullableOf(list as unknown[]);
    const merged = nullable ?? (inUnion ? undefined : mergeObjectUnion(list as unknown[]));
    if (!merged) continue;
    const { [k]: _replaced, ...rest } = s;
    s = { ...merged, ...rest };
  }
  // The default after what describes the value, as people write it.
  if ('default' in s) {
    const { default: value, ...rest } = s;
    s = { ...rest, default: value };
  }
  return s;
}

/**
 * `anyOf: [X, {type: null}]` → X with `type: [X.type, "null"]`, which the Settings editor can edit
 * (it shows "Edit in settings.json" for any anyOf).
 */
function nullableOf(list: unknown[]): Json | undefined {
  if (list.length !== 2 || !list.every(isObject)) return undefined;
  const [a, b] = list as [Json, Json];
  const isNull = (x: Json) => sameJson(x, { type: 'null' });
  const other = isNull(a) ? b : isNull(b) ? a : undefined;
  if (!other || typeof other.type !== 'string' || SCHEMA_LISTS.some((k) => k in other)) return undefined;
  return { ...other, type: [other.type, 'null'] };
}

/**
 * A union of object schemas told apart by a `const` property (e.g. providers by `type`) → one
 * object: every property once, the tag as an enum, what is required by all required, and an
 * if/then per variant that requires more. VS Code completes and describes its properties, which it
 * does poorly across anyOf/oneOf branches. The daemon still checks each variant exactly.
 */
function mergeObjectUnion(list: unknown[]): Json | undefined {
  const variants = leaves(list);
  if (!variants || variants.length < 2) return undefined;
  const props = variants.map((v) => v.properties as Json);
  const required = variants.map((v) => new Set(Array.isArray(v.required) ? (v.required as string[]) : []));
  const tag = Object.keys(props[0] ?? {}).find((k) =>
    props.every((p, i) => isObject(p[k]) && typeof p[k].const === 'string' && required[i]?.has(k)),
  );
  if (tag === undefined) return undefined;
  const names = props.map((p) => (p[tag] as Json).const as string);
  if (new Set(names).size !== names.length) return undefined;

  const properties: Json = {};
  const holders = new Map<string, string[]>();
  const { const: _first, ...tagSchema } = props[0]?.[tag] as Json;
  properties[tag] = { ...tagSchema, enum: names };
  props.forEach((p, i) => {
    for (const [key, value] of Object.entries(p)) {
      if (key === tag) continue;
      const name = names[i] ?? '';
      const seen = properties[key];
      if (seen === undefined) {
        properties[key] = value;
        holders.set(key, [name]);
        continue;
      }
      if (!sameJson(seen, value)) {
        throw new Error(`"${key}" differs between variants "${holders.get(key)?.[0]}" and "${name}" of a union`);
      }
      holders.get(key)?.push(name);
    }
  });
  const common = [...(required[0] ?? [])].filter((k) => required.every((r) => r.has(k)));
  for (const [key, has] of holders) {
    const requiredBy = common.includes(key) ? [] : names.filter((_n, i) => required[i]?.has(key));
    const note = variantsNote(has, requiredBy, names.length);
    if (note) (properties[key] as Json & { [VARIANTS_NOTE]?: string })[VARIANTS_NOTE] = note;
  }
  const conditions = variants.flatMap((_v, i) => {
    const extra = [...(required[i] ?? [])].filter((k) => !common.includes(k));
    return extra.length
      ? [{ if: { properties: { [tag]: { const: names[i] } }, required: [tag] }, then: { required: extra } }]
      : [];
  });
  const out: Json = { type: 'object', properties, required: common };
  if (variants.every((v) => v.additionalProperties === false)) out.additionalProperties = false;
  if (conditions.length) out.allOf = conditions;
  return out;
}

/** The object schemas of a (nested) anyOf/oneOf, or undefined when any branch is not a plain object. */
function leaves(list: unknown[]): Json[] | undefined {
  const out: Json[] = [];
  for (const item of list) {
    if (!isObject(item)) return undefined;
    const nested = item.anyOf ?? item.oneOf;
    if (Array.isArray(nested) && Object.keys(item).length === 1) {
      const inner = leaves(nested as unknown[]);
      if (!inner) return undefined;
      out.push(...inner);
    } else if (item.type === 'object' && isObject(item.properties) && !SCHEMA_LISTS.some((k) => k in item)) {
      out.push(item);
    } else {
      return undefined;
    }
  }
  return out;
}

/** "Only for local providers." / "Required for openai-compatible providers." */
function variantsNote(has: string[], requiredBy: string[], total: number): string | undefined {
  const parts: string[] = [];
  if (has.length < total) parts.push(`only for ${listText(has)} providers`);
  if (requiredBy.length) parts.push(`required for ${listText(requiredBy)}${parts.length ? '' : ' providers'}`);
  return parts.length ? sentence(parts.join('; ')) : undefined;
}

function listText(names: string[]): string {
  return names.length < 2 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** Add a setting's VS Code-only metadata; throws when it names something the schema does not have. */
function applyMeta(out: Json, meta: SettingMeta, key: string): void {
  out.order = meta.order;
  if (meta.scope !== undefined) out.scope = meta.scope;
  applyPropertyMeta(out, meta, key);
  if (meta.items === undefined) return;
  const items = out.items;
  if (!isObject(items)) throw new Error(`${key}: metadata for items, but the value is not an array`);
  if (meta.items.patternErrorMessage !== undefined) items.patternErrorMessage = meta.items.patternErrorMessage;
  const docs = meta.items.properties;
  if (docs === undefined) return;
  const props = items.properties;
  if (!isObject(props)) throw new Error(`${key}: metadata for item properties, but the items are not objects`);
  for (const name of Object.keys(docs)) {
    if (!(name in props)) throw new Error(`${key}: metadata for "${name}", which the item schema does not have`);
  }
  // The metadata's order, then any property it does not name.
  const ordered: Json = {};
  for (const name of [...Object.keys(docs), ...Object.keys(props)]) {
    if (name in ordered) continue;
    const prop = props[name];
    if (!isObject(prop)) {
      ordered[name] = prop;
      continue;
    }
    const copy = { ...prop } as Json & { [VARIANTS_NOTE]?: string };
    const doc = docs[name];
    if (doc !== undefined) applyPropertyMeta(copy, doc, `${key}.${name}`);
    else if (copy[VARIANTS_NOTE]) copy.description = copy[VARIANTS_NOTE];
    ordered[name] = copy;
  }
  items.properties = ordered;
}

function applyPropertyMeta(out: Json & { [VARIANTS_NOTE]?: string }, meta: PropertyMeta, where: string): void {
  const note = out[VARIANTS_NOTE];
  const join = (text: string) => (note ? `${text} ${note}` : text);
  if (meta.markdownDescription !== undefined) out.markdownDescription = join(meta.markdownDescription);
  else if (meta.description !== undefined) out.description = join(meta.description);
  if (meta.enumDescriptions !== undefined) out.enumDescriptions = enumTexts(out.enum, meta.enumDescriptions, where);
  if (meta.patternErrorMessage !== undefined) out.patternErrorMessage = meta.patternErrorMessage;
}

/** Texts keyed by enum value → VS Code's array in the enum's order; every value needs one. */
function enumTexts(values: unknown, texts: Readonly<Record<string, string>>, where: string): string[] {
  if (!Array.isArray(values)) throw new Error(`${where}: enumDescriptions, but the schema has no enum`);
  const names = values.map(String);
  const extra = Object.keys(texts).filter((k) => !names.includes(k));
  if (extra.length) throw new Error(`${where}: enumDescriptions for unknown values ${extra.join(', ')}`);
  return names.map((n) => {
    const text = texts[n];
    if (text === undefined) throw new Error(`${where}: no enumDescription for "${n}"`);
    return text;
  });
}

/** package.json with `contributes.configuration` replaced, everything else kept (2-space JSON). */
export function renderPackageJson(text: string, configuration: Json): string {
  const pkg = JSON.parse(text) as Json;
  if (!isObject(pkg.contributes)) throw new Error('package.json has no "contributes"');
  pkg.contributes.configuration = configuration;
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/** Whether package.json's settings are what the generator makes (order included: it is the file's order). */
export function settingsUpToDate(text: string, configuration: Json = buildConfiguration()): boolean {
  const pkg = JSON.parse(text) as Json;
  const current = isObject(pkg.contributes) ? pkg.contributes.configuration : undefined;
  return sameJson(current, configuration);
}

function main(): number {
  const text = fs.readFileSync(PACKAGE_JSON, 'utf8');
  const configuration = buildConfiguration();
  if (settingsUpToDate(text, configuration)) {
    console.log('package.json settings are up to date');
    return 0;
  }
  if (process.argv.includes('--check')) {
    console.error(STALE_MESSAGE);
    return 1;
  }
  fs.writeFileSync(PACKAGE_JSON, renderPackageJson(text, configuration));
  console.log(
    `wrote contributes.configuration (${Object.keys(configuration.properties as Json).length} settings) ` +
      'to package.json',
  );
  return 0;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `s` with one key renamed in place (its position kept, symbol keys too). */
function replaceKey(s: Json, from: string, to: string, value: unknown): Json {
  const out = Object.fromEntries(Object.entries(s).map(([k, v]) => (k === from ? [to, value] : [k, v])));
  const symbols = s as Record<symbol, unknown>;
  for (const sym of Object.getOwnPropertySymbols(s)) (out as Record<symbol, unknown>)[sym] = symbols[sym];
  return out;
}

// Run as a script (`tsx scripts/genSettings.ts`), not when a test imports it.
if (/genSettings\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) process.exitCode = main();
