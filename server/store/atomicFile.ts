// The one atomic file write: a temp file, fsync, rename (write-file-atomic), so a crash or a kill -9
// at any moment leaves either the old file or the new one, never half of either.
import writeFileAtomic from 'write-file-atomic';

/** Private to the user: state files hold health, statistics and (daemon.json) a bearer token. */
const PRIVATE_MODE = 0o600;

export function writeFileAtomicSync(file: string, data: string): void {
  writeFileAtomic.sync(file, data, { mode: PRIVATE_MODE, fsync: true });
}

export function writeFileAtomicAsync(file: string, data: string): Promise<void> {
  return writeFileAtomic(file, data, { mode: PRIVATE_MODE, fsync: true });
}
