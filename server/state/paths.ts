// Where the daemon keeps its state, and `~` expansion for paths from config.
import os from 'node:os';
import path from 'node:path';

export function defaultStateDir(): string {
  if (process.env.BACKSTOP_STATE_DIR) return process.env.BACKSTOP_STATE_DIR;
  if (process.platform === 'win32')
    return path.join(process.env.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData', 'Local'), 'backstop', 'state');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', 'backstop');
  return path.join(process.env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state'), 'backstop');
}

export function expandHome(p: string): string {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/')) return path.join(os.homedir(), p.slice(2));
  return p;
}
