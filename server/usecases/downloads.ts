// The download use case: fetch a missing local model from its configured source into the provider's
// first models folder (resumable, checksum verified) or pull it through Ollama, then rescan so that
// waiting requests can use it. One download per model at a time: a second one waits for the first.
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCodes } from '../../protocol/errors';
import { methods } from '../../protocol/index';
import { splitModelId } from '../../protocol/modelId';
import type { DownloadResult } from '../../protocol/types';
import { DownloadError, downloadFile } from '../download/downloader';
import { ollamaPull } from '../download/ollamaPull';
import { expandHome } from '../state/paths';
import { defaultBaseUrl } from '../providers/cloud';
import { invalidParams, RpcError } from '../rpc/rpcError';
import type { Services } from '../app/services';

const PROGRESS_EVERY_BYTES = 1024 * 1024;

export class DownloadService {
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(private readonly s: Services) {}

  /** `model` is a validated model id. */
  async download(model: string, signal: AbortSignal): Promise<DownloadResult> {
    // Two downloads of one model would write the same .part file: the second waits for the first.
    for (let prev = this.inflight.get(model); prev; prev = this.inflight.get(model)) {
      await prev.catch(() => undefined);
    }
    const run = this.downloadOne(model, signal);
    this.inflight.set(model, run);
    try {
      return await run;
    } finally {
      this.inflight.delete(model);
    }
  }

  private async downloadOne(model: string, signal: AbortSignal): Promise<DownloadResult> {
    const s = this.s;
    const { provider: pid, name } = splitModelId(model);
    const prov = s.state.config.providers.find((x) => x.id === pid);
    if (!prov) throw s.state.unknownModel(model);
    if (prov.type === 'ollama')
      return this.pullOllama(model, name, prov.baseUrl ?? defaultBaseUrl('ollama') ?? '', signal);
    if (prov.type !== 'local')
      throw invalidParams('model', `${model} is a ${prov.type} model; cloud models are not downloaded`);
    const src = prov.downloads?.[name];
    if (!src) {
      throw invalidParams(
        'model',
        `no download source for ${model}: add providers[id=${pid}].downloads["${name}"] = { url, sha256 } to the configuration`,
      );
    }
    const dir = prov.modelsDirs?.[0];
    if (!dir) throw invalidParams('model', `provider ${pid} has no modelsDirs to download into`);
    const dest = path.join(expandHome(dir), `${name}.gguf`);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const t0 = s.clock.now();
    let lastReported = -PROGRESS_EVERY_BYTES;
    try {
      const r = await downloadFile(src.url, dest, {
        ...(src.sha256 ? { sha256: src.sha256 } : {}),
        signal,
        onProgress: (received, total) => {
          if (received - lastReported < PROGRESS_EVERY_BYTES && received !== total) return;
          lastReported = received;
          s.state.peers.broadcast(methods.downloadProgress, {
            model,
            receivedBytes: received,
            ...(total !== undefined ? { totalBytes: total } : {}),
          });
        },
      });
      s.log.info(`downloaded ${model} (${r.bytes} bytes, sha256 ${r.sha256}${r.resumed ? ', resumed' : ''})`);
      await s.catalog.rescan();
      s.health.reset(model);
      s.queue.poke(model);
      return {
        model,
        path: r.path,
        bytes: r.bytes,
        sha256: r.sha256,
        resumed: r.resumed,
        durationMs: s.clock.now() - t0,
      };
    } catch (e) {
      if (e instanceof DownloadError && e.kind === 'cancelled') {
        throw new RpcError(
          ErrorCodes.RequestCancelled,
          'download cancelled; the partial file is kept and the next download resumes it',
        );
      }
      throw new RpcError(ErrorCodes.InternalError, (e as Error).message);
    }
  }

  private async pullOllama(model: string, name: string, baseUrl: string, signal: AbortSignal): Promise<DownloadResult> {
    const s = this.s;
    const t0 = s.clock.now();
    try {
      const r = await ollamaPull(baseUrl, name, {
        signal,
        onProgress: (pr) => {
          if (pr.total) {
            s.state.peers.broadcast(methods.downloadProgress, {
              model,
              receivedBytes: pr.completed ?? 0,
              totalBytes: pr.total,
            });
          }
        },
      });
      s.log.info(`ollama pulled ${model} (${r.bytes} bytes)`);
      await s.catalog.cloud.refresh(true);
      s.health.reset(model);
      s.queue.poke(model);
      const sha256 = r.digest?.replace(/^sha256:/, '') ?? '';
      return { model, path: `ollama:${name}`, bytes: r.bytes, sha256, resumed: false, durationMs: s.clock.now() - t0 };
    } catch (e) {
      if (signal.aborted) {
        throw new RpcError(
          ErrorCodes.RequestCancelled,
          'pull cancelled; Ollama keeps what it fetched and resumes next time',
        );
      }
      throw new RpcError(ErrorCodes.InternalError, (e as Error).message);
    }
  }
}
