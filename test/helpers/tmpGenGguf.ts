// TEMPORARY until test/fixtures/genGguf.ts lands: shells out to the reference generator.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
export interface GgufOpts { embd?: number; layers?: number; heads?: number; ff?: number; ctx?: number; dtype?: 'f32' | 'f16'; seed?: number }
export function writeGguf(path: string, o: GgufOpts = {}): void {
  execFileSync('node', ['/work/shared/reference/gen-gguf.mjs', path, String(o.embd ?? 64), String(o.layers ?? 2), String(o.heads ?? 4), String(o.ff ?? 128), String(o.ctx ?? 2048), o.dtype ?? 'f32', String(o.seed ?? 42)]);
}
export function writeBrokenGguf(path: string): void {
  writeFileSync(path, randomBytes(4096));
}
