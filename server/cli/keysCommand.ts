// `backstop keys add NAME | list | revoke NAME`: the per-user API keys of a gateway served beyond this
// machine (`serve --host`). They live hashed in <stateDir>/keys.json; no daemon is needed, and a running
// one follows the file, so a revoked key is refused at once.
import { newTable } from './table';
import type { Command } from 'commander';
import { relativeIso } from '../../protocol/humanTime';
import { addKey, readKeys, revokeKey, type ApiKeyEntry } from '../state/apiKeys';
import { defaultStateDir } from '../state/paths';
import { EXIT_ERROR, EXIT_OK, EXIT_USAGE } from './exitCodes';
import { out } from './run';

interface KeysOptions {
  json?: boolean;
  stateDir?: string;
}

const withKeysOptions = (c: Command): Command =>
  c
    .option('--json', 'print machine-readable JSON')
    .option('--state-dir <dir>', 'state dir of the daemon that serves the gateway');

function keysTable(keys: readonly ApiKeyEntry[], now = Date.now()): string {
  if (keys.length === 0) return 'No API keys: issue one with "backstop keys add NAME".';
  const t = newTable({ head: ['name', 'key starts', 'created'], style: { head: [], border: [] } });
  for (const k of keys) t.push([k.name, `${k.hint}…`, relativeIso(k.createdAt, now) ?? k.createdAt]);
  return t.toString();
}

/** Run one keys action: its exit code, and a bad keys.json or name reported in words (exit 2). */
function keysAction(o: KeysOptions, fn: (stateDir: string) => number): void {
  let code: number;
  try {
    code = fn(o.stateDir ?? defaultStateDir());
  } catch (e) {
    const err = e as Error;
    if (o.json) out(true, { error: { message: err.message } }, () => '');
    else process.stderr.write(`backstop: ${err.message}\n`);
    code = err.name === 'KeysFileError' ? EXIT_USAGE : EXIT_ERROR;
  }
  process.exit(code);
}

export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('per-user API keys for a gateway served beyond this machine');

  withKeysOptions(keys.command('add').description('issue a key (printed once, stored hashed)').argument('<name>'))
    .summary('issue a key')
    .action((name: string, o: KeysOptions) =>
      keysAction(o, (dir) => {
        const { key, entry } = addKey(dir, name);
        out(o.json, { name: entry.name, key, createdAt: entry.createdAt }, () =>
          [
            `API key "${name}" (shown once; only its hash is kept in ${dir}):`,
            key,
            'Send it as the bearer token (OpenAI SDKs: apiKey, base URL http://HOST:PORT/v1).',
          ].join('\n'),
        );
        return EXIT_OK;
      }),
    );

  withKeysOptions(keys.command('list').description('the issued keys: name, first characters, when created')).action(
    (o: KeysOptions) =>
      keysAction(o, (dir) => {
        const list = readKeys(dir);
        out(o.json, { keys: list.map(({ name, hint, createdAt }) => ({ name, hint, createdAt })) }, () =>
          keysTable(list),
        );
        return EXIT_OK;
      }),
  );

  withKeysOptions(
    keys.command('revoke').description('revoke a key: a running daemon refuses it at once').argument('<name>'),
  ).action((name: string, o: KeysOptions) =>
    keysAction(o, (dir) => {
      if (revokeKey(dir, name)) {
        out(o.json, { revoked: name }, () => `revoked "${name}": requests with it now get 401`);
        return EXIT_OK;
      }
      const names = readKeys(dir).map((k) => k.name);
      const known = names.length ? `the keys are: ${names.join(', ')}` : 'there are no keys';
      out(o.json, { revoked: null, error: `no key named "${name}"` }, () => `no key named "${name}"; ${known}`);
      return EXIT_USAGE;
    }),
  );
}
