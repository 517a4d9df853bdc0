#!/usr/bin/env node
// `npm run package`: a production build, then a .vsix with @vscode/vsce (offline). The client and the
// daemon are bundles in dist/; what the daemon loads from node_modules at run time (the packages
// esbuild.mjs keeps external: node-llama-cpp with its platform binaries, systeminformation) goes in
// too, with their dependency closure. .vscodeignore is the allow-list; this script checks that it
// covers that closure (and rewrites its generated block with --write-ignore).
//
// usage: node scripts/packageVsix.mjs [--target linux-x64] [--gpu] [--out file.vsix] [--write-ignore] [--no-build]
//   --target  a VS Code platform (linux-x64, linux-arm64, darwin-arm64, win32-x64, …): a platform-specific
//             .vsix with that platform's node-llama-cpp binaries (they must be installed in node_modules:
//             `npm install --no-save --force @node-llama-cpp/<platform>` on another OS).
//   --gpu     also ship the CUDA and Vulkan binaries of that platform (~600 MB on linux-x64).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const IGNORE_FILE = path.join(ROOT, '.vscodeignore');
const BEGIN = '# BEGIN runtime node_modules (generated: node scripts/packageVsix.mjs --write-ignore)';
const END = '# END runtime node_modules';
/** Kept external by esbuild.mjs and loaded by dist/cli.js at run time. */
const RUNTIME_ROOTS = ['node-llama-cpp', 'systeminformation'];
/** VS Code platform → node-llama-cpp binary packages (CPU first; the rest with --gpu). */
const LLAMA_BINARIES = {
  'linux-x64': [['linux-x64'], ['linux-x64-vulkan', 'linux-x64-cuda', 'linux-x64-cuda-ext']],
  'linux-arm64': [['linux-arm64'], []],
  'linux-armhf': [['linux-armv7l'], []],
  'darwin-arm64': [['mac-arm64-metal'], []],
  'darwin-x64': [['mac-x64'], []],
  'win32-x64': [['win-x64'], ['win-x64-vulkan', 'win-x64-cuda', 'win-x64-cuda-ext']],
  'win32-arm64': [['win-arm64'], []],
};

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const target = opt('--target') ?? hostTarget();
const gpu = args.includes('--gpu');

function hostTarget() {
  const arch = process.arch === 'arm' ? 'armhf' : process.arch;
  return `${process.platform}-${arch}`;
}

function run(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(' ')} failed (exit ${r.status})`);
}

/** Resolve a package the way node does from `fromDir` (nearest node_modules first). */
function resolvePkg(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === ROOT || dir === path.dirname(dir)) return undefined;
  }
}

/** Every installed package dir the runtime roots need, for this target (other platforms' binaries skipped). */
export function runtimeClosure() {
  const binaries = LLAMA_BINARIES[target];
  if (!binaries) throw new Error(`no node-llama-cpp binaries known for target ${target}`);
  const wanted = new Set([...binaries[0], ...(gpu ? binaries[1] : [])].map((b) => `@node-llama-cpp/${b}`));
  const seen = new Map();
  const visit = (name, fromDir, optional) => {
    if (name.startsWith('@node-llama-cpp/') && !wanted.has(name)) return;
    const dir = resolvePkg(name, fromDir);
    if (!dir) {
      if (optional) return;
      throw new Error(`${name} (needed at run time) is not installed; run npm ci`);
    }
    const rel = path.relative(ROOT, dir).split(path.sep).join('/');
    if (seen.has(rel)) return;
    seen.set(rel, name);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    for (const d of Object.keys(pkg.dependencies ?? {})) visit(d, dir, false);
    for (const d of Object.keys(pkg.optionalDependencies ?? {})) visit(d, dir, true);
  };
  for (const r of RUNTIME_ROOTS) visit(r, ROOT, false);
  for (const b of wanted) {
    if (!resolvePkg(b, ROOT))
      throw new Error(`${b} is not installed: install it for --target ${target} (npm install --no-save --force ${b})`);
  }
  return [...seen.keys()].sort();
}

/**
 * vsce keeps a file when ANY "!" line matches it, so a folder cannot be allowed and then partly
 * excluded: node-llama-cpp is listed by parts, leaving out llama/gitRelease.bundle and the C++
 * sources (34 MB, only needed to build llama.cpp from source).
 */
const PARTS = {
  'node_modules/node-llama-cpp': [
    'package.json',
    'LICENSE',
    'dist/**',
    'templates/**',
    'bins/**',
    'node_modules/**',
    'llama/*.json',
    'llama/grammars/**',
  ],
};

function allowLines(dir) {
  return PARTS[dir] ? PARTS[dir].map((p) => `!${dir}/${p}`) : [`!${dir}/**`];
}

function ignoreBlock(dirs) {
  return [BEGIN, ...dirs.flatMap(allowLines), END].join('\n');
}

function checkIgnore(dirs) {
  const text = fs.readFileSync(IGNORE_FILE, 'utf8');
  if (args.includes('--write-ignore')) {
    const start = text.indexOf(BEGIN);
    const end = text.indexOf(END);
    const next =
      start >= 0 && end > start
        ? text.slice(0, start) + ignoreBlock(dirs) + text.slice(end + END.length)
        : `${text.trimEnd()}\n${ignoreBlock(dirs)}\n`;
    fs.writeFileSync(IGNORE_FILE, next);
    return;
  }
  const lines = new Set(text.split('\n').map((l) => l.trim()));
  const missing = dirs.filter((d) => !allowLines(d).every((l) => lines.has(l)));
  if (missing.length) {
    throw new Error(
      `.vscodeignore does not allow these run-time packages: ${missing.join(', ')}.\nRun: node scripts/packageVsix.mjs --write-ignore${target !== hostTarget() ? ` --target ${target}` : ''}`,
    );
  }
}

function main() {
  const t0 = Date.now();
  const dirs = runtimeClosure();
  checkIgnore(dirs);
  if (!args.includes('--no-build')) run(process.execPath, ['esbuild.mjs', '--production']);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const out = opt('--out') ?? `out/${pkg.name}-${target}-${pkg.version}.vsix`;
  fs.mkdirSync(path.dirname(path.resolve(ROOT, out)), { recursive: true });
  const vsce = path.join(ROOT, 'node_modules/@vscode/vsce/vsce');
  const vsceArgs = ['package', '--out', out, '--target', target, '--allow-missing-repository'];
  // The repository is not on GitHub/GitLab, so vsce cannot resolve the README's relative links (docs/…)
  // by itself: give it the repository's address as their base.
  const repo = String(pkg.repository?.url ?? '').replace(/\.git$/, '');
  if (repo) vsceArgs.push('--baseContentUrl', `${repo}/blob/main`, '--baseImagesUrl', `${repo}/raw/main`);
  if (!fs.existsSync(path.join(ROOT, 'LICENSE')) && !fs.existsSync(path.join(ROOT, 'LICENSE.md')))
    vsceArgs.push('--skip-license');
  run(process.execPath, [vsce, ...vsceArgs]);
  const size = fs.statSync(path.resolve(ROOT, out)).size;
  console.log(
    `package: ${out} (${(size / 1024 / 1024).toFixed(1)} MB, ${dirs.length} run-time packages, target ${target}${gpu ? ' with GPU binaries' : ''}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
}

try {
  main();
} catch (e) {
  console.error(`package: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
