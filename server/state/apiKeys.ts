// Per-user API keys for a gateway served beyond this machine (issue 20). <stateDir>/keys.json keeps each
// key's name and the sha256 of the key, never the key: a key is 32 random bytes, so a guess is as hard
// as the key itself and a fast hash loses nothing a salt or a slow hash would add. The file is written
// atomically (mode 0600); the daemon watches it, so a revoked key is refused at once, without a restart.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../core/types';
import { writeFileAtomicSync } from '../store/atomicFile';

export const KEYS_FILE = 'keys.json';
/** Keys start with this, so a leaked one is recognisable in a scanner or a log. */
export const KEY_PREFIX = 'bsk_';
const KEY_BYTES = 32;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const SHA256_RE = /^[0-9a-f]{64}$/;

export interface ApiKeyEntry {
  name: string;
  /** Hex sha256 of the whole key. */
  sha256: string;
  createdAt: string;
  /** The key's first characters ("bsk_Ab3x"), to tell keys apart in `keys list`. */
  hint: string;
}

export class KeysFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeysFileError';
  }
}

export const keyDigest = (key: string): string => crypto.createHash('sha256').update(key).digest('hex');

/** Why a name cannot name a key, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (NAME_RE.test(name)) return undefined;
  return `key name ${JSON.stringify(name)} is not valid: use 1 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit (e.g. "alice" or "ci-runner")`;
}

/** The entries of a keys.json text; a KeysFileError saying what is wrong and where when malformed. */
export function parseKeys(text: string, file = KEYS_FILE): ApiKeyEntry[] {
  const fix = `fix or delete ${file}, then issue keys again with "backstop keys add NAME"`;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new KeysFileError(`${file} is not JSON (${(e as Error).message}); ${fix}`);
  }
  const keys = (v as { keys?: unknown } | null)?.keys;
  if (typeof v !== 'object' || v === null || !Array.isArray(keys))
    throw new KeysFileError(`${file} must be an object with a "keys" list; ${fix}`);
  const seen = new Set<string>();
  return keys.map((k: unknown, i) => {
    const e = k as Partial<Record<keyof ApiKeyEntry, unknown>> | null;
    const bad = (what: string) => new KeysFileError(`${file}: keys[${i}] ${what}; ${fix}`);
    if (typeof e !== 'object' || e === null) throw bad('is not an object');
    if (typeof e.name !== 'string' || nameProblem(e.name)) throw bad('has no valid "name"');
    if (seen.has(e.name)) throw bad(`repeats the name ${JSON.stringify(e.name)}`);
    seen.add(e.name);
    if (typeof e.sha256 !== 'string' || !SHA256_RE.test(e.sha256)) throw bad('has no valid "sha256" (64 hex digits)');
    return {
      name: e.name,
      sha256: e.sha256,
      createdAt: typeof e.createdAt === 'string' ? e.createdAt : '',
      hint: typeof e.hint === 'string' ? e.hint.slice(0, 8) : '',
    };
  });
}

const keysPath = (stateDir: string) => path.join(stateDir, KEYS_FILE);

export function readKeys(stateDir: string): ApiKeyEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(keysPath(stateDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new KeysFileError(`cannot read ${keysPath(stateDir)}: ${(e as Error).message}`);
  }
  return parseKeys(text, keysPath(stateDir));
}

function writeKeys(stateDir: string, keys: readonly ApiKeyEntry[]): void {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileAtomicSync(keysPath(stateDir), JSON.stringify({ keys }, null, 2) + '\n');
}

/** Issue a key: the key itself is returned once and never stored. */
export function addKey(
  stateDir: string,
  name: string,
  now: Date = new Date(),
  random: (n: number) => Buffer = crypto.randomBytes,
): { key: string; entry: ApiKeyEntry } {
  const problem = nameProblem(name);
  if (problem) throw new KeysFileError(problem);
  const keys = readKeys(stateDir);
  if (keys.some((k) => k.name === name))
    throw new KeysFileError(
      `a key named ${JSON.stringify(name)} exists already: revoke it first ("backstop keys revoke ${name}") or pick another name`,
    );
  const key = KEY_PREFIX + random(KEY_BYTES).toString('base64url');
  const entry: ApiKeyEntry = { name, sha256: keyDigest(key), createdAt: now.toISOString(), hint: key.slice(0, 8) };
  writeKeys(stateDir, [...keys, entry]);
  return { key, entry };
}

/** Revoke the key of that name; false when there is none. */
export function revokeKey(stateDir: string, name: string): boolean {
  const keys = readKeys(stateDir);
  const left = keys.filter((k) => k.name !== name);
  if (left.length === keys.length) return false;
  writeKeys(stateDir, left);
  return true;
}

/**
 * The daemon's view of keys.json: a lookup from a presented key to its name, reloaded when the file
 * changes. A file that turns malformed accepts no key (fail closed) until it is fixed.
 */
export class KeyRing {
  private byDigest = new Map<string, string>();
  private watcher: fs.FSWatcher | undefined;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly stateDir: string,
    private readonly logger: Logger,
  ) {
    this.set(readKeys(stateDir));
  }

  get size(): number {
    return this.byDigest.size;
  }

  /** The name of the key, or undefined when it is no key of ours. */
  lookup(key: string): string | undefined {
    return key.startsWith(KEY_PREFIX) ? this.byDigest.get(keyDigest(key)) : undefined;
  }

  /** Follow the file: a rename into place (the atomic write) or a deletion reloads it. */
  watch(): void {
    this.watcher = fs.watch(this.stateDir, { persistent: false }, (_event, file) => {
      if (file === null || file === KEYS_FILE) void this.reload();
    });
    this.watcher.on('error', (e) => this.logger.warn(`api keys: cannot watch ${this.stateDir}: ${e.message}`));
  }

  /** Read the file again, after any read under way (so the last change is the one that counts). */
  reload(): Promise<void> {
    this.reading = this.reading.then(() => this.readOnce());
    return this.reading;
  }

  close(): void {
    this.watcher?.close();
  }

  private async readOnce(): Promise<void> {
    let text: string | undefined;
    try {
      text = await fs.promises.readFile(keysPath(this.stateDir), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.logger.warn(`api keys: cannot read ${KEYS_FILE} (${(e as Error).message}); accepting no key until it can`);
      }
    }
    try {
      const before = this.byDigest.size;
      this.set(text === undefined ? [] : parseKeys(text, keysPath(this.stateDir)));
      if (before !== this.byDigest.size) this.logger.info(`api keys: ${this.byDigest.size} key(s) in ${KEYS_FILE}`);
    } catch (e) {
      this.byDigest = new Map();
      this.logger.warn(`api keys: ${(e as Error).message}; accepting no key until it is fixed`);
    }
  }

  private set(keys: readonly ApiKeyEntry[]): void {
    this.byDigest = new Map(keys.map((k) => [k.sha256, k.name]));
  }
}
