// Every command of the README's CLI table, run against the built daemon (issue 18): the table lists
// exactly the commands `backstop --help` has, and each runs, with --json (parsed) and as a table.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FAULT_MODELS, startFaultServer, type FaultServer } from '../fixtures/faultServer';
import { writeGguf } from '../fixtures/genGguf';
import { CLI, ROOT, spawnCli, tmpDir, waitForDaemonFile, writeConfig, type Spawned } from '../helpers/daemon';

const NO_SCAN = { lmStudio: false, huggingFace: false, nodeLlamaCpp: false, llamaCpp: false };

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** "chain set", "status", … : the command names of the README's CLI table, in its order. */
function readmeCommands(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## The CLI$/m)[1]?.split(/^## /m)[0] ?? '';
  const names: string[] = [];
  for (const row of section.split('\n').filter((l) => l.startsWith('| `backstop ')))
    for (const m of row.split('|')[1]!.matchAll(/`backstop ([a-z-]+)(?: (set|show|add|list|revoke)\b)?/g))
      names.push(m[2] ? `${m[1]} ${m[2]}` : m[1]!);
  return names;
}

/** The commands `backstop --help` lists, with the subcommands of a command that has them. */
async function helpCommands(prefix: string[] = []): Promise<string[]> {
  const r = await cli([...prefix, '--help']);
  const lines = r.stdout.split(/^Commands:$/m)[1]?.split('\n') ?? [];
  const names = lines.map((l) => /^ {2}([a-z-]+)/.exec(l)?.[1]).filter((n): n is string => !!n && n !== 'help');
  const out: string[] = [];
  for (const n of names) {
    const sub = prefix.length === 0 ? await helpCommands([n]) : [];
    out.push(...(sub.length ? sub.map((s) => `${n} ${s}`) : [n]));
  }
  return out;
}

describe('the README CLI table, command by command', () => {
  let fault: FaultServer;
  let files: http.Server;
  let dir: string;
  let state: string;
  let models: string;
  let daemon: Spawned;
  const ggufBytes = () => fs.readFileSync(path.join(dir, 'dl-source.gguf'));

  before(async () => {
    fault = await startFaultServer();
    dir = tmpDir('backstop-clicommands-');
    state = path.join(dir, 'state');
    models = path.join(dir, 'models');
    fs.mkdirSync(models);
    writeGguf(path.join(dir, 'dl-source.gguf'), { seed: 3 });
    files = http.createServer((_req, res) => res.end(ggufBytes()));
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(files.address() as AddressInfo).port}/dl.gguf`;
    const sha256 = crypto.createHash('sha256').update(ggufBytes()).digest('hex');
    const cfg = writeConfig(dir, {
      providers: [
        { id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1` },
        {
          id: 'local',
          type: 'local',
          modelsDirs: [models],
          scan: NO_SCAN,
          threads: 1,
          downloads: { dl: { url, sha256 } },
        },
      ],
      chain: [`fault/${FAULT_MODELS.error503Always}`, 'fault/ok'],
      maxRetries: 0,
    });
    // `serve`, the first row of the table, is the daemon every other command talks to.
    daemon = spawnCli(['serve', '--ws', '0', '--config', cfg, '--state-dir', state]);
    await waitForDaemonFile(state, daemon);
  });
  after(async () => {
    await daemon.kill();
    await fault.close();
    files.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Each README command as run here: its arguments, and what its --json answer must show. */
  const runs: Record<string, { args: string[]; check?: (json: unknown) => void }> = {
    status: { args: ['status'], check: (j) => assert.ok(Array.isArray((j as { chain: unknown }).chain)) },
    models: { args: ['models'], check: (j) => assert.ok((j as unknown[]).length > 0) },
    complete: {
      args: ['complete', 'hello', '--max-tokens', '8'],
      check: (j) => assert.equal((j as { modelUsed: string }).modelUsed, 'fault/ok'),
    },
    bench: { args: ['bench', 'fault/ok', '--repetitions', '1', '--max-tokens', '4'] },
    'chain set': { args: ['chain', 'set', 'fault/ok', `fault/${FAULT_MODELS.error503Always}`] },
    'chain show': {
      args: ['chain', 'show'],
      check: (j) => assert.deepEqual((j as { chain: string[] }).chain[0], 'fault/ok'),
    },
    doctor: { args: ['doctor'] },
    suggest: {
      args: ['suggest', 'fault/ok', '--capability', 'chat'],
      check: (j) => assert.ok((j as { suggestions: unknown[] }).suggestions.length > 0),
    },
    plan: {
      args: ['plan', 'fault/ok', '--failure', 'rate_limited', '--retry-after', '2000'],
      check: (j) => assert.equal((j as { failure: string }).failure, 'rate_limited'),
    },
    wait: {
      args: ['wait', 'fault/ok'],
      check: (j) => assert.equal(typeof (j as { totalMs: unknown }).totalMs, 'number'),
    },
    queue: { args: ['queue'], check: (j) => assert.ok(Array.isArray((j as { items: unknown }).items)) },
    download: {
      args: ['download', 'local/dl'],
      check: (j) => {
        assert.equal((j as { bytes: number }).bytes, ggufBytes().length);
        assert.ok(fs.existsSync(path.join(models, 'dl.gguf')));
        fs.rmSync(path.join(models, 'dl.gguf'));
      },
    },
    monitor: {
      args: ['monitor', '--seconds', '2'],
      check: (j) => assert.ok((j as { samples: unknown[] }).samples.length >= 2),
    },
    stats: {
      args: ['stats'],
      check: (j) => assert.ok((j as { totalRequests: number }).totalRequests >= 1, 'complete ran before'),
    },
    usage: {
      args: ['usage'],
      check: (j) => assert.ok((j as { day: { rows: unknown[] } }).day.rows.length >= 1, 'complete ran before'),
    },
    // Each pass issues the key, lists it and revokes it, so the next pass can issue it again.
    'keys add': { args: ['keys', 'add', 'ci-user'], check: (j) => assert.match((j as { key: string }).key, /^bsk_/) },
    'keys list': {
      args: ['keys', 'list'],
      check: (j) =>
        assert.deepEqual(
          (j as { keys: { name: string }[] }).keys.map((k) => k.name),
          ['ci-user'],
        ),
    },
    'keys revoke': {
      args: ['keys', 'revoke', 'ci-user'],
      check: (j) => assert.equal((j as { revoked: string }).revoked, 'ci-user'),
    },
  };

  it('the table lists every command the CLI has, and no other', async () => {
    const listed = readmeCommands();
    assert.deepEqual(
      [...listed].sort(),
      [...(await helpCommands())].sort(),
      'every command of `backstop --help` needs a row in the README CLI table (and a run in this test)',
    );
    assert.deepEqual(
      listed.filter((n) => n !== 'serve'),
      Object.keys(runs),
      'this test runs each of them, in the order of the table',
    );
  });

  it('each command in the table runs with --json: exit 0 and the JSON it documents', async () => {
    for (const name of readmeCommands().filter((n) => n !== 'serve')) {
      const run = runs[name];
      assert.ok(run, `no run for "${name}"`);
      const r = await cli([...run.args, '--json', '--state-dir', state]);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      const json = JSON.parse(r.stdout) as unknown;
      run.check?.(json);
    }
  });

  it('each command in the table runs as a person would: exit 0 and human output, not JSON', async () => {
    for (const name of readmeCommands().filter((n) => n !== 'serve')) {
      const r = await cli([...runs[name]!.args, '--state-dir', state]);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.ok(r.stdout.trim().length > 0, `${name} printed nothing`);
      assert.throws(() => JSON.parse(r.stdout) as unknown, `${name} printed JSON without --json`);
      if (name === 'download') fs.rmSync(path.join(models, 'dl.gguf'));
    }
  });

  it('queue --cancel with an unknown id exits 2 and says how to find the ids', async () => {
    const r = await cli(['queue', '--cancel', 'no-such-id', '--state-dir', state]);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /no waiting request has id no-such-id/);
  });
});
