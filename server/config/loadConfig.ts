// Read a JSON or YAML config file and validate it. Errors name the file, the key and the reason.
import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { type Config, formatIssues, validateConfig } from '../../protocol/config';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function parseConfigText(text: string, file: string): unknown {
  const yaml = /\.ya?ml$/i.test(file);
  try {
    return yaml ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid ${yaml ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
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

export function checkConfig(raw: unknown, source: string): Config {
  const r = validateConfig(raw ?? {});
  if (!r.ok) throw new ConfigError(`invalid configuration in ${source}: ${formatIssues(r.issues)}`);
  return r.config;
}
