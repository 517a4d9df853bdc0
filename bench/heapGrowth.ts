// What the daemon keeps as it ages: heap snapshots (taken by the daemon on SIGUSR2, after a full GC)
// after a warm-up and after N more requests, compared by constructor (count and self size).
// usage: tsx bench/heapGrowth.ts [N=10000]   (writes the snapshots to a temp folder)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gatewayTarget, load, request, rssMiB, sleep, startDaemon, startUpstream } from './lib';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

function summarise(file: string): Map<string, { count: number; size: number }> {
  const s = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
  const f = s.snapshot.meta.node_fields;
  const [iType, iName, iSize, n] = [f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size'), f.length];
  const types = s.snapshot.meta.node_types[0];
  const out = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < s.nodes.length; i += n) {
    const type = types[s.nodes[i + iType]!]!;
    const key = type === 'object' || type === 'closure' ? `${type} ${s.strings[s.nodes[i + iName]!]}` : type;
    const e = out.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += s.nodes[i + iSize]!;
    out.set(key, e);
  }
  return out;
}

async function snap(pid: number, dir: string): Promise<string> {
  const before = new Set(fs.readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await sleep(200);
    const added = fs.readdirSync(dir).filter((x) => !before.has(x) && x.endsWith('.heapsnapshot'));
    const file = added[0] && path.join(dir, added[0]);
    if (file) {
      const size = fs.statSync(file).size;
      await sleep(1000);
      if (fs.statSync(file).size === size && fs.readFileSync(file, 'utf8').trimEnd().endsWith('}')) return file;
    }
  }
  throw new Error('no heap snapshot');
}

async function main(): Promise<void> {
  const N = Number(process.argv[2]) || 10_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-heap-'));
  const up = await startUpstream();
  const d = await startDaemon(up.port, { nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`] });
  try {
    const gw = gatewayTarget(d);
    await load(gw, false, 32, 2000);
    const a = await snap(d.pid, dir);
    const rssA = rssMiB(d.pid);
    // Sockets the snapshot's pause left half-closed answer ECONNRESET once: drain them.
    for (let ok = 0, tries = 0; ok < 64 && tries < 1000; tries++)
      ok = await request(gw, false).then(
        () => ok + 1,
        () => 0,
      );
    for (let done = 0; done < N; done += 1000) await load(gw, false, 32, 1000);
    const b = await snap(d.pid, dir);
    const rssB = rssMiB(d.pid);
    const sa = summarise(a),
      sb = summarise(b);
    const total = (m: typeof sa) => [...m.values()].reduce((x, e) => x + e.size, 0) / 2 ** 20;
    console.log(
      `live heap ${total(sa).toFixed(1)} → ${total(sb).toFixed(1)} MiB; RSS ${rssA.toFixed(1)} → ${rssB.toFixed(1)} MiB`,
    );
    const rows = [...sb].map(([k, e]) => {
      const o = sa.get(k) ?? { count: 0, size: 0 };
      return { k, dCount: e.count - o.count, dSize: e.size - o.size };
    });
    rows.sort((x, y) => y.dSize - x.dSize);
    for (const r of rows.slice(0, 25))
      console.log(`${(r.dSize / 1024).toFixed(0).padStart(8)} KiB ${String(r.dCount).padStart(8)}  ${r.k}`);
  } catch (e) {
    console.error(`daemon alive: ${d.child.exitCode === null}; stderr: ${d.stderr().slice(-1500)}`);
    throw e;
  } finally {
    await d.stop();
    await up.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
