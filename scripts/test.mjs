// The README's test command: build, then every layer in turn — unit, integration, VS Code
// extension host, UI e2e — with one summary line per layer and a total at the end.
// usage: node scripts/test.mjs [unit|integration|vscode|e2e ...]   (default: all)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const wanted = process.argv.slice(2);
const layers = wanted.length ? wanted : ['unit', 'integration', 'vscode', 'e2e'];

function findTests(dir) {
  const out = [];
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...findTests(p));
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

/** Run a command, echo its output, and return its exit code and text. */
function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    });
    let text = '';
    const tee = (stream) => (d) => {
      text += d;
      stream.write(d);
    };
    child.stdout.on('data', tee(process.stdout));
    child.stderr.on('data', tee(process.stderr));
    child.on('close', (code) => resolve({ code: code ?? 1, text }));
  });
}

/** Counts from node:test's spec reporter ("ℹ pass N", "ℹ fail N") or a plain "N passed, M failed". */
function counts(text) {
  const num = (re) => [...text.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
  const pass = num(/^ℹ pass (\d+)$/gm) + num(/^\S*:? ?(\d+) passed, \d+ failed/gm);
  const fail = num(/^ℹ fail (\d+)$/gm) + num(/^\S*:? ?\d+ passed, (\d+) failed/gm);
  return { pass, fail };
}

const results = [];
const build = await run(process.execPath, ['esbuild.mjs']);
if (build.code !== 0) {
  console.log('build failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

for (const layer of layers) {
  const t0 = Date.now();
  let r;
  if (layer === 'unit' || layer === 'integration') {
    const files = findTests(path.join(root, 'test', layer));
    if (!files.length) {
      results.push({ layer, pass: 0, fail: 1, code: 1, ms: 0, note: 'no test files found' });
      continue;
    }
    const args = ['--import', 'tsx', '--test', '--test-reporter=spec'];
    if (layer === 'integration') args.push('--test-concurrency=1');
    r = await run(process.execPath, [...args, ...files]);
  } else if (layer === 'vscode' || layer === 'e2e') {
    const script = path.join(root, 'scripts', layer === 'vscode' ? 'testVscode.mjs' : 'testE2e.mjs');
    if (!fs.existsSync(script)) {
      results.push({ layer, pass: 0, fail: 1, code: 1, ms: 0, note: `${path.relative(root, script)} is missing` });
      continue;
    }
    r = await run(process.execPath, [script]);
  } else {
    console.error(`unknown layer "${layer}": use unit, integration, vscode or e2e`);
    process.exit(2);
  }
  const c = counts(r.text);
  // A layer that failed without reporting a failing test still counts as one failure.
  const fail = r.code !== 0 && c.fail === 0 ? 1 : c.fail;
  results.push({ layer, pass: c.pass, fail, code: r.code, ms: Date.now() - t0 });
}

console.log('\n==== Backstop test summary ====');
for (const r of results)
  console.log(
    `${r.layer}: ${r.pass} passed, ${r.fail} failed (${(r.ms / 1000).toFixed(1)} s)${r.note ? ` — ${r.note}` : ''}`,
  );
const pass = results.reduce((a, r) => a + r.pass, 0);
const fail = results.reduce((a, r) => a + r.fail, 0);
console.log(`${pass} passed, ${fail} failed`);
process.exit(fail > 0 || results.some((r) => r.code !== 0) ? 1 : 0);
