// One bundler, three contexts: the VS Code client (cjs, `vscode` external), the daemon (node cjs,
// native and ESM-only packages external) and the webview (browser iife).
// usage: node esbuild.mjs [--production] [--watch]
import * as esbuild from 'esbuild';
import fs from 'node:fs';

const production = process.argv.includes('--production');
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const watch = process.argv.includes('--watch');

/** Loaded at run time from node_modules, never bundled: native code and ESM-only packages. */
const SERVER_EXTERNALS = ['node-llama-cpp', '@node-llama-cpp/*', 'systeminformation'];

const common = {
  bundle: true,
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'warning',
  legalComments: 'none',
  // jsonc-parser's `main` is a UMD build whose inner requires esbuild cannot follow: bundle its ES modules
  // (the daemon reads config files with it, the client reads settings.json files).
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
};

const contexts = [];

if (fs.existsSync('client/extension.ts')) {
  contexts.push({
    ...common,
    entryPoints: { client: 'client/extension.ts' },
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    // Activation time (api.activationMs, npm run bench) counts from here, before any module initialises.
    banner: { js: 'var __backstopLoadStart = performance.now();' },
  });
}

const server = {
  ...common,
  outdir: 'dist',
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: SERVER_EXTERNALS,
  define: { __BACKSTOP_VERSION__: JSON.stringify(pkg.version) },
  // Keep `await import('node-llama-cpp')` a real dynamic import in the cjs bundle.
  supported: { 'dynamic-import': true },
};

contexts.push({
  ...server,
  // dist/cli.js is a small loader that runs dist/daemon.js (the daemon and its CLI) with V8's code cache.
  entryPoints: { cli: 'server/cliLoader.ts' },
  banner: { js: '#!/usr/bin/env node' },
});

contexts.push({
  ...server,
  entryPoints: {
    daemon: 'server/cli.ts',
    localWorker: 'server/providers/localWorker.ts',
    // Native GGUF header reads (discovery, fit estimates), out of the daemon's process.
    ggufWorker: 'server/native/ggufWorker.ts',
  },
  // Without comments and indentation the bundle is a third of its size, and pure ASCII: V8 keeps the
  // source of every script for its lifetime, one byte per character only when no character is outside
  // Latin-1 (a comment's "—" doubled it). Smaller to read, compile and keep: idle RSS and cold start
  // (issue 21). Names stay, so stack traces and profiles still read; the source map maps lines back.
  minifyWhitespace: true,
});

if (fs.existsSync('webview/main.ts')) {
  contexts.push({
    ...common,
    // The codicon font and its CSS on their own: the webview links them with the id that
    // @vscode-elements/elements looks for (vscode-codicon-stylesheet) to show icons in its components.
    entryPoints: { webview: 'webview/main.ts', codicon: 'node_modules/@vscode/codicons/dist/codicon.css' },
    outdir: 'dist',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    loader: { '.css': 'css', '.ttf': 'file' },
  });
}

const built = await Promise.all(contexts.map((c) => esbuild.context(c)));
if (watch) {
  await Promise.all(built.map((c) => c.watch()));
  console.log(`esbuild: watching ${built.length} contexts`);
} else {
  await Promise.all(built.map((c) => c.rebuild()));
  await Promise.all(built.map((c) => c.dispose()));
  if (fs.existsSync('dist/cli.js')) fs.chmodSync('dist/cli.js', 0o755);
  assertAscii('dist/daemon.js');
  console.log(`esbuild: built ${built.length} contexts${production ? ' (production)' : ''}`);
}

/** A character outside ASCII makes V8 keep the whole bundle's source at two bytes per character. */
function assertAscii(file) {
  if (!fs.existsSync(file)) return;
  const text = fs.readFileSync(file, 'latin1');
  const at = text.search(/[^\x00-\x7f]/);
  if (at === -1) return;
  const line = text.slice(0, at).split('\n').length;
  throw new Error(
    `${file}:${line}: a character outside ASCII (${JSON.stringify(text.slice(Math.max(0, at - 40), at + 20))}): ` +
      'escape it in the source (\\uXXXX), so V8 keeps the bundle at one byte per character',
  );
}
