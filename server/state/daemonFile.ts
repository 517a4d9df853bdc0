// <stateDir>/daemon.json: how other processes (the CLI, scripts) find a running daemon, and, when
// it is gone, which configuration it ran with. Mode 0600: it holds the bearer token.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../store/atomicFile';

export interface DaemonFile {
  pid: number;
  version: string;
  wsPort?: number;
  httpPort?: number;
  token: string;
  startedAt?: string;
  /** The configuration file the daemon was started with (absolute), when it had one. */
  configPath?: string;
}

export const DAEMON_FILE = 'daemon.json';

/**
 * Write daemon.json. Without `configPath`, the `--config` this process was started with (`backstop
 * serve --config <file>`) is recorded, so a CLI that finds the daemon dead can start one alike.
 */
export function writeDaemonFile(stateDir: string, info: DaemonFile): string {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, DAEMON_FILE);
  const configPath = info.configPath ?? configFileArgument(process.argv);
  const full: DaemonFile = { ...info, ...(configPath !== undefined ? { configPath: path.resolve(configPath) } : {}) };
  writeFileAtomicSync(file, JSON.stringify(full, null, 2));
  return file;
}

/** The value of `--config <file>` or `--config=<file>` in a command line, if any. */
export function configFileArgument(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return undefined;
    if (a === '--config') return argv[i + 1] || undefined;
    if (a.startsWith('--config=')) return a.slice('--config='.length) || undefined;
  }
  return undefined;
}

export function readDaemonFile(stateDir: string): DaemonFile | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(stateDir, DAEMON_FILE), 'utf8')) as DaemonFile | null;
    if (typeof v !== 'object' || v === null) return undefined;
    if (v.configPath !== undefined && typeof v.configPath !== 'string') delete v.configPath;
    return typeof v.pid === 'number' && typeof v.token === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Remove daemon.json if it is still ours (another daemon may have taken the state dir over). */
export function removeDaemonFile(stateDir: string, pid = process.pid): void {
  const cur = readDaemonFile(stateDir);
  if (cur && cur.pid !== pid) return;
  try {
    fs.unlinkSync(path.join(stateDir, DAEMON_FILE));
  } catch {
    // already gone
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
