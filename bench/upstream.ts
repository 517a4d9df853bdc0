// The upstream of the benchmark in its own process: the project's fault server (model `ok`, chunk delay
// 0), so the load generator, the upstream and the daemon each have their own event loop. Prints
// `{"url": …}` on one line, then serves until killed. Its per-request records are dropped every second
// so that a long age run measures the daemon, not the fixture's memory.
import { startFaultServer } from '../test/fixtures/faultServer';

async function main(): Promise<void> {
  const server = await startFaultServer({ chunkDelayMs: 0 });
  const timer = setInterval(() => {
    server.attempts.length = 0;
    server.requests.length = 0;
  }, 1000);
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  const stop = (): void => {
    clearInterval(timer);
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
