// Resident memory of a process, for the benchmark's memory figure. Linux reads /proc; elsewhere the
// figure is unknown rather than guessed.
import fs from 'node:fs';

export function rssOfPid(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
