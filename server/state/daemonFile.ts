// <stateDir>/daemon.json: how other processes (the CLI, scripts) find a running daemon.
// Mode 0600: it holds the bearer token.
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
}

export const DAEMON_FILE = 'daemon.json';

export function writeDaemonFile(stateDir: string, info: DaemonFile): string {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, DAEMON_FILE);
  writeFileAtomicSync(file, JSON.stringify(info, null, 2));
  return file;
}

export function readDaemonFile(stateDir: string): DaemonFile | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(stateDir, DAEMON_FILE), 'utf8')) as DaemonFile;
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
