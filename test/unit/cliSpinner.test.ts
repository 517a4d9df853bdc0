// The CLI's spinner: none on a terminal that reports no width. In a pseudo-terminal of 0 columns
// (`script`, some CI runners and containers) ora cleared lines without end: `backstop complete` wrote
// megabytes a second of cursor moves and never showed its answer. That loop never yields, so the
// narrow-terminal cases run in a child process under a timeout: a regression fails, it cannot hang.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { startSpinner } from '../../server/cli/spinner';

const ROOT = path.resolve(__dirname, '..', '..');

function terminal(columns: number | undefined, isTTY = true): NodeJS.WriteStream {
  // What ora calls on a TTY stream besides write: cursor moves, here done by nothing.
  const moves = { cursorTo: () => true, moveCursor: () => true, clearLine: () => true };
  return Object.assign(new PassThrough(), { isTTY, columns }, moves) as unknown as NodeJS.WriteStream;
}

describe('CLI spinner', () => {
  it('runs on a terminal with a width', async () => {
    const spinner = await startSpinner('working…', terminal(80));
    assert.ok(spinner, 'a spinner on an 80-column terminal');
    spinner.stop();
  });

  it('is left out on a terminal of 0 columns, without a width, or not a terminal', () => {
    const script = `
      const { PassThrough } = require('node:stream');
      const { startSpinner } = require('./server/cli/spinner');
      const moves = { cursorTo: () => true, moveCursor: () => true, clearLine: () => true };
      const term = (columns, isTTY) => Object.assign(new PassThrough(), { isTTY, columns }, moves);
      (async () => {
        const got = [];
        for (const [columns, isTTY] of [[0, true], [undefined, true], [80, false]]) {
          const s = await startSpinner('working…', term(columns, isTTY));
          got.push(s === undefined ? 'none' : 'spinner');
          s?.stop();
        }
        process.stdout.write(JSON.stringify(got));
      })();`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 20_000,
      maxBuffer: 1024 * 1024,
    });
    assert.equal(r.error, undefined, `the spinner did not return: ${String(r.error)}`);
    assert.deepEqual(JSON.parse(r.stdout), ['none', 'none', 'none'], r.stderr);
  });
});
