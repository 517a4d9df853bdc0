// Resumable model download: bytes go to `<dest>.part`; an interrupted transfer continues with an
// HTTP Range request; the SHA-256 is checked before the file is renamed into place, so a model
// folder never holds a half-written or corrupt file under the model's name.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';

/** Attempts (first try + resumes) before giving up on a flaky connection. */
export const DOWNLOAD_MAX_TRIES = 5;
export const DOWNLOAD_RETRY_DELAY_MS = 500;

export interface DownloadOptions {
  sha256?: string;
  signal?: AbortSignal;
  onProgress?: (receivedBytes: number, totalBytes: number | undefined) => void;
  maxTries?: number;
}

export interface DownloadOutcome {
  path: string;
  bytes: number;
  sha256: string;
  resumed: boolean;
  tries: number;
}

export class DownloadError extends Error {
  constructor(
    message: string,
    readonly kind: 'network' | 'checksum' | 'http' | 'cancelled',
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

export async function downloadFile(url: string, dest: string, o: DownloadOptions = {}): Promise<DownloadOutcome> {
  const part = `${dest}.part`;
  const maxTries = o.maxTries ?? DOWNLOAD_MAX_TRIES;
  let resumed = false;
  let total: number | undefined;
  let used = 0;
  for (let tries = 1; tries <= maxTries; tries++) {
    used = tries;
    if (o.signal?.aborted) throw new DownloadError('download cancelled', 'cancelled');
    const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
    if (have > 0) resumed = true;
    try {
      const res = await fetch(url, {
        ...(o.signal ? { signal: o.signal } : {}),
        headers: have > 0 ? { range: `bytes=${have}-` } : {},
      });
      if (res.status === 416 && total !== undefined && have >= total) break; // already complete
      if (!res.ok || !res.body) throw new DownloadError(`download of ${url} failed: HTTP ${res.status}`, 'http');
      const append = res.status === 206 && have > 0;
      const len = Number(res.headers.get('content-length'));
      if (Number.isFinite(len) && len > 0) total = (append ? have : 0) + len;
      let received = append ? have : 0;
      // Each chunk is written (and awaited) before the next is read, so whatever arrived before a
      // dropped connection is on disk for the resume.
      const fh = await fs.promises.open(part, append ? 'a' : 'w');
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          await fh.write(chunk);
          received += chunk.length;
          o.onProgress?.(received, total);
        }
      } finally {
        await fh.close();
      }
      if (total !== undefined && received < total)
        throw new DownloadError(`connection closed after ${received} of ${total} bytes`, 'network');
      break;
    } catch (e) {
      if (o.signal?.aborted) throw new DownloadError('download cancelled', 'cancelled');
      if (e instanceof DownloadError && e.kind === 'http') throw e;
      if (tries === maxTries)
        throw new DownloadError(`download of ${url} failed after ${tries} tries: ${(e as Error).message}`, 'network');
      await new Promise((r) => setTimeout(r, DOWNLOAD_RETRY_DELAY_MS));
    }
  }
  const sha256 = await hashFile(part);
  if (o.sha256 && sha256.toLowerCase() !== o.sha256.toLowerCase()) {
    fs.rmSync(part, { force: true });
    throw new DownloadError(
      `checksum mismatch for ${url}: expected ${o.sha256}, got ${sha256}; the partial file was removed, retry the download`,
      'checksum',
    );
  }
  fs.renameSync(part, dest);
  return { path: dest, bytes: fs.statSync(dest).size, sha256, resumed, tries: used };
}

export async function hashFile(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), h);
  return h.digest('hex');
}
