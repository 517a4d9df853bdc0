// Which machine-scoped backstop.* settings sit in a User settings file that VS Code ignores for them
// (a remote window reads machine settings only from the Remote settings). Pure: no vscode import.
import { parse, type ParseError } from 'jsonc-parser';

export interface MisplacedSetting {
  /** The key without "backstop.". */
  key: string;
  value: unknown;
}

/**
 * Pure: the machine-scoped keys whose value is in the User settings text although VS Code gives the
 * extension no user value for them (so it ignores that file for them). Unparseable text: none.
 */
export function ignoredMachineSettings(
  userSettingsText: string,
  machineKeys: readonly string[],
  userValue: (key: string) => unknown,
): MisplacedSetting[] {
  const errors: ParseError[] = [];
  const parsed: unknown = parse(userSettingsText, errors, { allowTrailingComma: true });
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return [];
  const obj = parsed as Record<string, unknown>;
  return machineKeys
    .filter((k) => Object.hasOwn(obj, `backstop.${k}`) && userValue(k) === undefined)
    .map((k) => ({ key: k, value: obj[`backstop.${k}`] }));
}

/** The setting keys (without "backstop.") the manifest declares machine-scoped. */
export function machineScopedKeys(packageJson: unknown): string[] {
  const props = (
    packageJson as { contributes?: { configuration?: { properties?: Record<string, { scope?: string }> } } }
  )?.contributes?.configuration?.properties;
  return Object.entries(props ?? {})
    .filter(([, p]) => p.scope === 'machine')
    .map(([k]) => k.replace(/^backstop\./, ''));
}
