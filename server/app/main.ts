// Start the daemon: configuration, state, services, then the transports asked for. The same
// handler table serves stdio/IPC (LSP framing), WebSocket and HTTP.
import fs from 'node:fs';
import path from 'node:path';
import { type Config, defaultConfig } from '../../protocol/config';
import { methods } from '../../protocol/index';
import { ConfigError, checkConfig, loadConfigFile } from '../config/loadConfig';
import { systemClock } from '../core/types';
import { DaemonState } from '../state/daemonState';
import { removeDaemonFile, writeDaemonFile } from '../state/daemonFile';
import { baseHandlers } from '../handlers/base';
import { knowledgeHandlers } from '../handlers/knowledge';
import { workHandlers } from '../handlers/work';
import { DaemonLogger } from './logger';
import { defaultStateDir } from '../state/paths';
import { HandlerTable } from '../rpc/handlerTable';
import { Services } from './services';
import { createUseCases } from '../usecases';
import { FileStore } from '../store/fileStore';
import { boundHostNames, isLoopbackAddress, loadOrCreateToken } from '../transports/auth';
import { KEYS_FILE, KeyRing } from '../state/apiKeys';
import { startHttpServer } from '../transports/httpServer';
import { VERSION } from './version';
import { capYoungGeneration } from './youngGeneration';

export interface ServeOptions {
  stdio?: boolean;
  ipc?: boolean;
  wsPort?: number;
  httpPort?: number;
  host?: string;
  configFile?: string;
  config?: Config;
  stateDir?: string;
  /** Write daemon.json (default: when a network listener runs). */
  writeDaemonFile?: boolean;
  logToStderr?: boolean;
  homeDir?: string;
}

export interface RunningDaemon {
  services: Services;
  table: HandlerTable;
  state: DaemonState;
  wsPort?: number;
  httpPort?: number;
  token: string;
  stateDir: string;
  stop(): Promise<void>;
}

export async function startDaemon(opts: ServeOptions): Promise<RunningDaemon> {
  capYoungGeneration();
  const logger = new DaemonLogger(undefined, opts.logToStderr ?? true);
  const config = opts.config ?? (opts.configFile ? loadConfigFile(opts.configFile) : defaultConfig());
  const stateDir = opts.stateDir ?? defaultStateDir();
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const store = new FileStore(stateDir, logger);
  const state = new DaemonState({ config, stateDir, store, logger, clock: systemClock, version: VERSION });
  const services = new Services(state, opts.homeDir ? { homeDir: opts.homeDir } : {});
  const usecases = createUseCases(services);
  const table = new HandlerTable(
    { ...baseHandlers(services), ...knowledgeHandlers(services), ...workHandlers(usecases) },
    { checkResults: process.env.BACKSTOP_CHECK_RESULTS === '1' },
  );
  logger.onLog((m) => state.peers.broadcast(methods.log, m));

  const token = loadOrCreateToken(stateDir);
  const host = opts.host ?? '127.0.0.1';
  const shared = sharedListener(host, stateDir, logger, opts.wsPort !== undefined || opts.httpPort !== undefined);
  // The DNS-rebinding check accepts the address the listeners are bound to (127.0.0.1, localhost, [::1] always).
  const hostNames = boundHostNames(host);
  const closers: (() => Promise<void>)[] = [];
  let wsPort: number | undefined;
  let httpPort: number | undefined;
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      removeDaemonFile(stateDir);
      shared?.keys.close();
      await Promise.allSettled(closers.map((c) => c()));
      await services.stop();
      store.flush();
    })());

  await services.start();
  // The WebSocket and LSP transports (ws, vscode-languageserver) load only when asked for: a daemon
  // serving HTTP alone starts without compiling them.
  if (opts.wsPort !== undefined) {
    const { startWsServer } = await import('../transports/wsServer');
    const ws = await startWsServer(
      table,
      state.peers,
      {
        port: opts.wsPort,
        host,
        token,
        allowedOrigins: () => state.config.server.allowedOrigins,
        allowedHosts: () => state.config.server.allowedHosts,
        hostNames,
        ...(shared ? { shared: true } : {}),
        maxBytes: () => state.config.server.maxMessageBytes,
      },
      logger,
    );
    wsPort = ws.port;
    closers.push(ws.close);
  }
  if (opts.httpPort !== undefined) {
    const http = await startHttpServer(
      table,
      { services, completions: usecases.completions },
      { port: opts.httpPort, host, token, hostNames, ...(shared ? { shared } : {}) },
      logger,
    );
    httpPort = http.port;
    closers.push(http.close);
  }
  if (opts.stdio || opts.ipc) {
    const { startLspServer } = await import('../transports/lspServer');
    startLspServer(
      table,
      state.peers,
      {
        mode: opts.ipc ? 'ipc' : 'stdio',
        maxBytes: () => state.config.server.maxMessageBytes,
        version: VERSION,
        onInitialize: async (init) => {
          applyInitOptions(state, init);
          await services.catalog.rescan();
          // VS Code shows `backstop/log` in its output channel: stderr would only repeat it.
          if (opts.ipc) logger.toStderr = false;
        },
        onClose: () => void stop().then(() => process.exit(0)),
      },
      logger,
    );
  }
  const wantFile = opts.writeDaemonFile ?? (wsPort !== undefined || httpPort !== undefined);
  if (wantFile) {
    writeDaemonFile(stateDir, {
      ...(opts.configFile ? { configPath: path.resolve(opts.configFile) } : {}),
      pid: process.pid,
      version: VERSION,
      token,
      startedAt: new Date().toISOString(),
      ...(wsPort !== undefined ? { wsPort } : {}),
      ...(httpPort !== undefined ? { httpPort } : {}),
    });
  }
  logger.info(
    `backstop ${VERSION} serving${opts.stdio ? ' stdio' : ''}${opts.ipc ? ' ipc' : ''}${wsPort !== undefined ? ` ws:${wsPort}` : ''}${httpPort !== undefined ? ` http:${httpPort}` : ''}; state in ${stateDir}`,
  );
  return {
    services,
    table,
    state,
    token,
    stateDir,
    stop,
    ...(wsPort !== undefined ? { wsPort } : {}),
    ...(httpPort !== undefined ? { httpPort } : {}),
  };
}

/**
 * A listener on a non-loopback address is a team service: it needs per-user API keys (refused without
 * any, before anything listens) and follows keys.json so a revoked key is refused at once.
 */
function sharedListener(host: string, stateDir: string, logger: DaemonLogger, listens: boolean) {
  if (!listens || isLoopbackAddress(host)) return undefined;
  let keys: KeyRing;
  try {
    keys = new KeyRing(stateDir, logger);
  } catch (e) {
    throw new ConfigError(`cannot serve on ${host}: ${(e as Error).message}`);
  }
  if (keys.size === 0)
    throw new ConfigError(
      `serving on ${host} (not loopback) needs per-user API keys, and ${path.join(stateDir, KEYS_FILE)} has none: ` +
        `issue one with "backstop keys add NAME --state-dir ${stateDir}", or serve on 127.0.0.1`,
    );
  keys.watch();
  logger.info(
    `serving beyond loopback on ${host}: ${keys.size} API key(s); the daemon token works from this machine only`,
  );
  return { keys };
}

/** VS Code passes its settings as initializationOptions: { config?: Partial<Config> }. */
function applyInitOptions(state: DaemonState, init: unknown): void {
  const cfg = (init as { config?: unknown } | undefined)?.config;
  if (cfg === undefined) return;
  // The settings are a source like the config file: run-time edits win until a setting changes.
  state.applySettings(cfg as never);
}

export { ConfigError, checkConfig };
