// The `backstop` command line against the built daemon: found through daemon.json, or embedded;
// --json output, exit codes and help.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CompleteResult, Status } from '../../protocol/types';
import { FAULT_MODELS, FIXED_ANSWER, startFaultServer, type FaultServer } from '../fixtures/faultServer';
import { writeGguf } from '../fixtures/genGguf';
import { CLI, spawnCli, tmpDir, waitForDaemonFile, writeConfig, type Spawned } from '../helpers/daemon';

/** Run the CLI without blocking this process: the fault server lives here and must keep answering. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('backstop CLI', () => {
  let fault: FaultServer;
  let dir: string;
  let state: string;
  let daemon: Spawned;
  before(async () => {
    fault = await startFaultServer();
    dir = tmpDir();
    state = path.join(dir, 'state');
    const cfg = writeConfig(dir, {
      providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1` }],
      chain: [`fault/${FAULT_MODELS.error503Always}+cli`, 'fault/ok+cli'],
      maxRetries: 0,
    });
    daemon = spawnCli(['serve', '--ws', '0', '--config', cfg, '--state-dir', state]);
    await waitForDaemonFile(state, daemon);
  });
  after(async () => {
    await daemon.kill();
    await fault.close();
  });

  it('status --json talks to the running daemon found through daemon.json', async () => {
    const r = await cli(['status', '--json', '--state-dir', state]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Status;
    assert.deepEqual(s.chain, [`fault/${FAULT_MODELS.error503Always}+cli`, 'fault/ok+cli']);
  });

  it('complete --json falls back and prints the result with its attempts', async () => {
    const r = await cli(['complete', 'hello', '--json', '--state-dir', state]);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as CompleteResult;
    assert.equal(c.text, FIXED_ANSWER);
    assert.equal(c.modelUsed, 'fault/ok+cli');
    assert.ok(c.fallbackOccurred);
  });

  it('chain set changes the running daemon; the human output shows the trace', async () => {
    const set = await cli(['chain', 'set', 'fault/ok+cli', '--state-dir', state]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /fault\/ok\+cli/);
    const s = JSON.parse((await cli(['status', '--json', '--state-dir', state])).stdout) as Status;
    assert.deepEqual(s.chain, ['fault/ok+cli']);
    const r = await cli(['complete', 'hello', '--state-dir', state]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), FIXED_ANSWER);
    assert.match(r.stderr, /answered by fault\/ok\+cli/);
  });

  it('exit codes: 2 for an unknown model, 3 when no model can answer, 2 for an invalid config', async () => {
    assert.equal((await cli(['chain', 'set', 'nope/x', '--state-dir', state])).code, 2);
    const down = await cli([
      'complete',
      'x',
      '--chain',
      `fault/${FAULT_MODELS.error503Always}+cli2`,
      '--state-dir',
      state,
    ]);
    assert.equal(down.code, 3, down.stderr);
    assert.match(down.stderr, /No model in the chain could answer/);
    const bad = writeConfig(dir, { strategy: 'nope' }, 'bad.json');
    const r = await cli(['status', '--config', bad, '--state-dir', path.join(dir, 'other')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /strategy/);
  });

  it('works without a running daemon (embedded) and every command has --help', async () => {
    const other = path.join(dir, 'embedded-state');
    const r = await cli(['status', '--json', '--state-dir', other, '--embedded']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as Status).chain.length, 0);
    for (const c of [[], ['serve'], ['status'], ['models'], ['complete'], ['bench'], ['chain', 'set'], ['doctor']]) {
      const h = await cli([...c, '--help']);
      assert.equal(h.code, 0, `${c.join(' ')} --help`);
      assert.match(h.stdout, /Usage: backstop/);
    }
  });
});

describe('backstop CLI: exit codes as documented (issue 18)', () => {
  let dir: string;
  before(() => {
    dir = tmpDir();
  });

  it('usage errors exit 2: a missing argument, an unknown command or option, a subcommand left out', async () => {
    const state = ['--state-dir', path.join(dir, 'usage'), '--embedded'];
    for (const args of [['complete'], ['chain', 'set'], ['nosuch'], ['status', '--nosuch'], ['chain']]) {
      const r = await cli([...args, ...state]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /error: /);
    }
    assert.equal((await cli(['--version'])).code, 0);
    assert.equal((await cli(['complete', '--help'])).code, 0);
  });

  it('numeric flags are checked: a bad value exits 2 with a message naming the flag and its range', async () => {
    const state = ['--state-dir', path.join(dir, 'flags'), '--embedded'];
    for (const [args, flag] of [
      [['bench', '--repetitions', 'abc'], '--repetitions'],
      [['bench', '--repetitions', '0'], '--repetitions'],
      [['bench', '--max-tokens', '1.5'], '--max-tokens'],
      [['complete', 'x', '--max-tokens', '-3'], '--max-tokens'],
      [['complete', 'x', '--temperature', 'hot'], '--temperature'],
      [['serve', '--ws', 'abc'], '--ws'],
    ] as const) {
      const r = await cli([...args, ...state]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.includes(flag), r.stderr);
      assert.match(r.stderr, /invalid/);
    }
  });

  it('Ctrl-C while the embedded daemon starts exits 4 (cancelled), not by the signal', async () => {
    const fault = await startFaultServer();
    try {
      const cfg = writeConfig(
        dir,
        {
          providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1` }],
          chain: [`fault/${FAULT_MODELS.silent}`],
        },
        'silent.json',
      );
      // Debug logging puts the embedded daemon's start-up on stderr: the first line means it is starting.
      const c = spawnCli(['complete', 'hi', '--config', cfg, '--state-dir', path.join(dir, 'sigint')], {
        BACKSTOP_LOG_LEVEL: 'debug',
      });
      await new Promise<void>((resolve) => c.child.stderr?.once('data', () => resolve()));
      c.child.kill('SIGINT');
      assert.equal(await c.exited, 4, c.stderr());
    } finally {
      await fault.close();
    }
  });
});

describe('backstop complete on a small-context local model (issue 18)', () => {
  /** A local model trained for `trained` tokens, run with `contextSize` when given. */
  function smallContext(trained: number, contextSize?: number): { dir: string; cfg: string } {
    const dir = tmpDir();
    const models = path.join(dir, 'models');
    fs.mkdirSync(models);
    writeGguf(path.join(models, 'tiny.gguf'), { ctx: trained, seed: 5 });
    const cfg = writeConfig(dir, {
      providers: [
        {
          id: 'local',
          type: 'local',
          modelsDirs: [models],
          threads: 1,
          scan: { lmStudio: false, huggingFace: false, nodeLlamaCpp: false, llamaCpp: false },
          ...(contextSize ? { contextSize } : {}),
        },
      ],
      chain: ['local/tiny'],
    });
    return { dir, cfg };
  }

  it('run with a smaller context than trained: the overflow the model reports is retried with a maxTokens that fits', async () => {
    const { dir, cfg } = smallContext(2048, 256);
    const r = await cli(['complete', 'hello', '--json', '--config', cfg, '--state-dir', path.join(dir, 'state')]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const c = JSON.parse(r.stdout) as CompleteResult;
    assert.equal(c.modelUsed, 'local/tiny');
    assert.equal(c.attempts[0]?.failure, 'context_overflow', JSON.stringify(c.attempts));
    const last = c.attempts.at(-1)!;
    assert.equal(last.outcome, 'success');
    assert.ok((last.adjustments?.maxTokens as number) < 256, JSON.stringify(last));
    assert.match(last.message ?? '', /maxTokens lowered from 256 to \d+/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('at its defaults, maxTokens is lowered to what fits and the trace says so', async () => {
    // A 256-token context: the prompt plus the default 256-token answer does not fit, a shorter answer does.
    const { dir, cfg } = smallContext(256);
    const r = await cli([
      'complete',
      'hello',
      '--model',
      'local/tiny',
      '--json',
      '--config',
      cfg,
      '--state-dir',
      path.join(dir, 'state'),
    ]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const c = JSON.parse(r.stdout) as CompleteResult;
    assert.equal(c.modelUsed, 'local/tiny');
    const a = c.attempts.at(-1)!;
    assert.ok(typeof a.adjustments?.maxTokens === 'number' && a.adjustments.maxTokens < 256, JSON.stringify(a));
    assert.match(a.message ?? '', /maxTokens lowered from 256 to \d+ to fit local\/tiny's context of 256 tokens/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
