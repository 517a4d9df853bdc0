// `backstop` — the daemon and its command line. `serve` runs the daemon; every other command talks
// to the running daemon (found through daemon.json) or starts an embedded one for the call.
import { releaseEarlyInterrupt } from './cli/earlyInterrupt';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from './config/loadConfig';
import { startDaemon } from './app/main';
import { registerClientCommands } from './cli/commands';
import { registerDecisionCommands } from './cli/decisionCommands';
import { registerOpsCommands } from './cli/opsCommands';
import { registerUsageCommand } from './cli/usageCommand';
import { registerKeysCommand } from './cli/keysCommand';
import { VERSION } from './app/version';
import { EXIT_ERROR, EXIT_OK, EXIT_USAGE } from './cli/exitCodes';
import { usageExitCodes } from './cli/flags';

const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`"${v}" is not a port (0..65535; 0 picks a free one).`);
  return n;
};

const hostAddr = (v: string): string => {
  const h = v.trim().replace(/^\[(.*)\]$/, '$1');
  if (h === '' || /[\s/]/.test(h))
    throw new InvalidArgumentError(`"${v}" is not an address: use an IP (0.0.0.0 for every interface) or a host name.`);
  return h;
};

const program = usageExitCodes(new Command())
  .name('backstop')
  .description('Keeps AI completions working when a model fails: fallback chains over local GGUF and cloud models.')
  .version(VERSION)
  .showHelpAfterError('(add --help for usage)');

program
  .command('serve')
  .description('run the daemon (JSON-RPC over stdio, node IPC, WebSocket; OpenAI-compatible HTTP gateway)')
  .option('--stdio', 'serve JSON-RPC (LSP framing) on stdin/stdout')
  .addOption(new Option('--node-ipc', 'serve over the node IPC channel (used by VS Code)'))
  .addOption(new Option('--clientProcessId <pid>', 'VS Code client process id').hideHelp())
  .option('--ws <port>', 'serve JSON-RPC over WebSocket on <host>:<port> (0 = free port)', port)
  .option('--http <port>', 'serve the OpenAI-compatible gateway and /rpc on <host>:<port> (0 = free port)', port)
  .option(
    '--host <addr>',
    'address for --ws and --http (default 127.0.0.1); beyond loopback it needs API keys (backstop keys add)',
    hostAddr,
  )
  .option('--config <file>', 'configuration file (JSON with comments, or YAML)')
  .option('--state-dir <dir>', 'where state, benchmarks and daemon.json live')
  .action(
    async (o: {
      stdio?: boolean;
      nodeIpc?: boolean;
      ws?: number;
      http?: number;
      host?: string;
      config?: string;
      stateDir?: string;
    }) => {
      const ipc = o.nodeIpc || process.argv.includes('--node-ipc');
      if (!o.stdio && !ipc && o.ws === undefined && o.http === undefined) {
        process.stderr.write('backstop serve: choose at least one transport: --stdio, --ws <port> or --http <port>\n');
        process.exit(EXIT_USAGE);
      }
      try {
        const d = await startDaemon({
          stdio: !!o.stdio,
          ipc,
          ...(o.ws !== undefined ? { wsPort: o.ws } : {}),
          ...(o.http !== undefined ? { httpPort: o.http } : {}),
          ...(o.host !== undefined ? { host: o.host } : {}),
          ...(o.config ? { configFile: o.config } : {}),
          ...(o.stateDir ? { stateDir: o.stateDir } : {}),
        });
        if (!o.stdio && !ipc) {
          process.stderr.write(
            `backstop: ws ${d.wsPort ?? '-'} http ${d.httpPort ?? '-'}; token and ports in ${d.stateDir}/daemon.json\n`,
          );
        }
        // Last line of defence: a bug in one request must not take every client's daemon down.
        process.on('unhandledRejection', (e) =>
          d.services.log.error(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`),
        );
        process.on('uncaughtException', (e) => d.services.log.error(`uncaught exception: ${e.stack ?? e.message}`));
        const shutdown = () => void d.stop().then(() => process.exit(EXIT_OK));
        process.on('SIGINT', shutdown);
        process.on('SIGTERM', shutdown);
        releaseEarlyInterrupt();
      } catch (e) {
        const msg = (e as Error).message;
        process.stderr.write(`backstop: ${msg}\n`);
        process.exit(e instanceof ConfigError ? EXIT_USAGE : EXIT_ERROR);
      }
    },
  );

registerClientCommands(program);
registerDecisionCommands(program);
registerOpsCommands(program);
registerUsageCommand(program);
registerKeysCommand(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`backstop: ${(e as Error).message}\n`);
  process.exit(EXIT_ERROR);
});
