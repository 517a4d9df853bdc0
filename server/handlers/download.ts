// backstop/download: fetch a missing local model from its configured source into the provider's
// first models folder (resumable, checksum verified), then rescan so waiting requests can use it.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { methods, type DownloadResult } from '../../protocol/index';
import { ErrorCodes } from '../../protocol/errors';
import { DownloadError, downloadFile } from '../download/downloader';
import { ollamaPull } from '../download/ollamaPull';
import { defaultBaseUrl } from '../providers/cloud';
import { parseParams } from '../params';
import { expandHome } from '../paths';
import type { HandlerTable } from '../rpc';
import { RpcError } from '../rpcError';
import type { Services } from '../services';

const PROGRESS_EVERY_BYTES = 1024 * 1024;

export function registerDownload(t: HandlerTable, s: Services): void {
  // Two downloads of one model would write the same .part file: the second waits for the first.
  const inflight = new Map<string, Promise<unknown>>();
  t.on(methods.download, async (p, ctx) => {
    const model = (p as { model?: unknown } | undefined)?.model;
    const key = typeof model === 'string' ? model : '';
    while (inflight.has(key)) await inflight.get(key)!.catch(() => undefined);
    const run = downloadOne(s, p, ctx.signal);
    inflight.set(key, run);
    try {
      return await run;
    } finally {
      inflight.delete(key);
    }
  });
}

async function downloadOne(s: Services, p: unknown, signal: AbortSignal): Promise<DownloadResult> {
  const { model } = parseParams(z.object({ model: z.string().regex(/^[^/]+\/.+$/, 'a model id is "<providerId>/<modelName>"') }), p);
  const pid = model.slice(0, model.indexOf('/'));
  const name = model.slice(model.indexOf('/') + 1);
  const prov = s.state.config.providers.find((x) => x.id === pid);
  if (!prov) throw s.state.unknownModel(model);
  if (prov.type === 'ollama') return pullOllama(s, model, name, prov.baseUrl ?? defaultBaseUrl('ollama') ?? '', signal);
  if (prov.type !== 'local') throw new RpcError(ErrorCodes.InvalidParams, `invalid params: model: ${model} is a ${prov.type} model; cloud models are not downloaded`, { field: 'model' });
  const src = prov.downloads?.[name];
  if (!src) throw new RpcError(ErrorCodes.InvalidParams, `invalid params: model: no download source for ${model}: add providers[id=${pid}].downloads["${name}"] = { url, sha256 } to the configuration`, { field: 'model' });
  const dir = prov.modelsDirs?.[0];
  if (!dir) throw new RpcError(ErrorCodes.InvalidParams, `invalid params: model: provider ${pid} has no modelsDirs to download into`, { field: 'model' });
  const dest = path.join(expandHome(dir), `${name}.gguf`);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const t0 = Date.now();
  let lastReported = -PROGRESS_EVERY_BYTES;
  try {
    const r = await downloadFile(src.url, dest, {
      ...(src.sha256 ? { sha256: src.sha256 } : {}),
      signal,
      onProgress: (received, total) => {
        if (received - lastReported < PROGRESS_EVERY_BYTES && received !== total) return;
        lastReported = received;
        s.state.peers.broadcast(methods.downloadProgress, { model, receivedBytes: received, ...(total !== undefined ? { totalBytes: total } : {}) });
      },
    });
    s.log.info(`downloaded ${model} (${r.bytes} bytes, sha256 ${r.sha256}${r.resumed ? ', resumed' : ''})`);
    await s.catalog.rescan();
    s.health.reset(model);
    s.queue.poke(model);
    return { model, path: r.path, bytes: r.bytes, sha256: r.sha256, resumed: r.resumed, durationMs: Date.now() - t0 };
  } catch (e) {
    if (e instanceof DownloadError && e.kind === 'cancelled') throw new RpcError(ErrorCodes.RequestCancelled, 'download cancelled; the partial file is kept and the next download resumes it');
    throw new RpcError(ErrorCodes.InternalError, (e as Error).message);
  }
}

async function pullOllama(s: Services, model: string, name: string, baseUrl: string, signal: AbortSignal): Promise<DownloadResult> {
  const t0 = Date.now();
  try {
    const r = await ollamaPull(baseUrl, name, {
      signal,
      onProgress: (pr) => {
        if (pr.total) s.state.peers.broadcast(methods.downloadProgress, { model, receivedBytes: pr.completed ?? 0, totalBytes: pr.total });
      },
    });
    s.log.info(`ollama pulled ${model} (${r.bytes} bytes)`);
    await s.catalog.cloud.refresh(true);
    s.health.reset(model);
    s.queue.poke(model);
    return { model, path: `ollama:${name}`, bytes: r.bytes, sha256: r.digest?.replace(/^sha256:/, '') ?? '', resumed: false, durationMs: Date.now() - t0 };
  } catch (e) {
    if (signal.aborted) throw new RpcError(ErrorCodes.RequestCancelled, 'pull cancelled; Ollama keeps what it fetched and resumes next time');
    throw new RpcError(ErrorCodes.InternalError, (e as Error).message);
  }
}
