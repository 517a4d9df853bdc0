// A daemon serving the HTTP gateway, for tests that drive it with real clients.
import path from 'node:path';
import type { FaultServer } from '../fixtures/faultServer';
import { type DaemonInfo, type Spawned, spawnCli, tmpDir, waitForDaemonFile, writeConfig } from './daemon';

export interface GatewayDaemon {
  base: string;
  token: string;
  info: DaemonInfo;
  proc: Spawned;
  /** POST a JSON body to a gateway path with the daemon's token (or `auth` when given). */
  post(p: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  /** JSON-RPC over POST /rpc. */
  rpc<R>(method: string, params?: unknown): Promise<R>;
  stop(): Promise<void>;
}

/** The fault server as provider "fault" (openai-compatible), quick retries, high circuit thresholds. */
export function faultConfig(fault: FaultServer, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1` }],
    maxRetries: 0,
    backoff: { baseMs: 50, maxMs: 100, jitter: false },
    firstTokenTimeoutMs: 3000,
    idleTimeoutMs: 2000,
    circuit: { failureThreshold: 100, minRequests: 100, cooldownMs: 60_000 },
    ...extra,
  };
}

export async function startGatewayDaemon(config: Record<string, unknown>): Promise<GatewayDaemon> {
  const dir = tmpDir('backstop-gateway-');
  const cfg = writeConfig(dir, config);
  const stateDir = path.join(dir, 'state');
  const proc = spawnCli(['serve', '--http', '0', '--config', cfg, '--state-dir', stateDir]);
  const info = await waitForDaemonFile(stateDir, proc);
  if (info.httpPort === undefined) throw new Error(`daemon.json has no httpPort: ${JSON.stringify(info)}`);
  const base = `http://127.0.0.1:${info.httpPort}`;
  let seq = 0;
  const post = (p: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${info.token}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return {
    base,
    token: info.token,
    info,
    proc,
    post,
    async rpc<R>(method: string, params?: unknown): Promise<R> {
      const r = await post('/rpc', { jsonrpc: '2.0', id: ++seq, method, ...(params !== undefined ? { params } : {}) });
      const m = (await r.json()) as { result?: R; error?: { message: string } };
      if (m.error) throw new Error(`${method}: ${m.error.message}`);
      return m.result as R;
    },
    stop: () => proc.kill(),
  };
}
