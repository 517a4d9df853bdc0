// A real redis-server (Debian's package) for the team-state tests: a free loopback port, a temp dir,
// no persistence. Tests stop it in `after` (and may kill and restart it mid-run); a process exit
// handler kills whatever is still running so none outlives the test process.
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { tmpDir } from './daemon';

export const REDIS_SERVER = process.env.BACKSTOP_REDIS_SERVER ?? 'redis-server';
const START_TIMEOUT_MS = 5000;
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export interface RedisServer {
  port: number;
  url: string;
  /** Kill it (SIGKILL: an outage, not a shutdown). */
  kill(): Promise<void>;
  /** Start again on the same port, empty (nothing was saved). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function launch(port: number, dir: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start within ${START_TIMEOUT_MS} ms: ${out}`));
    }, START_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(t);
      reject(new Error(`cannot run ${REDIS_SERVER} (install Debian's redis-server): ${e.message}`));
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(t);
        resolve(child);
      }
    });
  });
}

function exited(c: ChildProcess): Promise<void> {
  return c.exitCode !== null || c.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => c.once('exit', () => r()));
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = tmpDir('backstop-redis-');
  let child = await launch(port, dir);
  const kill = async () => {
    child.kill('SIGKILL');
    await exited(child);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill();
      child = await launch(port, dir);
    },
    stop: kill,
  };
}
