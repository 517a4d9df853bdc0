// The daemon's state: configuration, secrets, providers and the core services, plus the events
// that become notifications. Transports never touch this directly: they go through the handler table.
// Configuration comes in three layers (docs/configuration.md): the config file, the VS Code settings
// sent with initialize, and run-time edits, which are stored at once (configEdits.ts) and re-applied
// at the next start.
import { type Config, type ConfigInput, formatIssues, mergeConfig, validateConfig } from '../../protocol/config';
import { ErrorCodes } from '../../protocol/errors';
import { methods } from '../../protocol/index';
import { MODEL_ID_HINT, providerOf } from '../../protocol/modelId';
import type { Status, Strategy } from '../../protocol/types';
import type { Clock, Store } from '../core/types';
import type { DaemonLogger } from '../app/logger';
import { folderIssues } from '../config/loadConfig';
import { PeerSet } from '../rpc/handlerTable';
import { RpcError } from '../rpc/rpcError';
import { ConfigEdits } from './configEdits';

export interface DaemonOptions {
  config: Config;
  stateDir: string;
  store: Store;
  logger: DaemonLogger;
  clock: Clock;
  version: string;
}

export type ConfigListener = (next: Config, prev: Config) => void;

export class DaemonState {
  config: Config;
  readonly peers = new PeerSet();
  readonly startedAt: number;
  private readonly secrets = new Map<string, string>();
  private readonly configListeners: ConfigListener[] = [];
  /** Run-time edits, stored in the state dir. */
  readonly edits: ConfigEdits;
  /** The VS Code settings sent with initialize (applySettings), if any. */
  private settings: ConfigInput | undefined;

  constructor(readonly opts: DaemonOptions) {
    this.edits = new ConfigEdits(opts.stateDir, opts.logger);
    // opts.config is the config file (or the defaults): the edits that still apply go over it.
    this.config = this.edits.effective(opts.config, opts.config);
    this.startedAt = opts.clock.now();
  }

  get logger(): DaemonLogger {
    return this.opts.logger;
  }

  onConfig(fn: ConfigListener): void {
    this.configListeners.push(fn);
  }

  /** Validate a partial config merged over the current one, then apply it everywhere without a restart. */
  setConfig(patch: ConfigInput | undefined): Config {
    if (patch !== undefined && (typeof patch !== 'object' || patch === null || Array.isArray(patch))) {
      throw new RpcError(ErrorCodes.InvalidParams, 'invalid params: setConfig takes an object of config keys', {
        field: 'params',
      });
    }
    const merged = mergeConfig(this.config, patch ?? {});
    const r = validateConfig(merged);
    if (!r.ok) {
      const first = r.issues[0];
      throw new RpcError(ErrorCodes.InvalidParams, `invalid configuration: ${formatIssues(r.issues)}`, {
        field: first?.path ?? 'config',
      });
    }
    // Folders are checked on the disk when applied (exists, a directory, not a filesystem root).
    const folders = folderIssues(r.config, { mustExist: true, unchanged: this.config });
    if (folders.length) {
      throw new RpcError(ErrorCodes.InvalidParams, `invalid configuration: ${formatIssues(folders)}`, {
        field: folders[0]!.path,
      });
    }
    this.replaceConfig(r.config);
    // Stored before the caller hears back: a restart or a kill -9 from here on keeps the edit.
    this.edits.record(patch ?? {}, this.config, this.opts.config, this.settings);
    return this.config;
  }

  /**
   * The VS Code settings sent with initialize: merged over the config file, then the run-time edits
   * that still apply go over them (an edit loses once the setting changed since it was made). Not
   * stored as an edit: VS Code sends its settings at every start.
   */
  applySettings(settings: ConfigInput | undefined): Config {
    if (settings === undefined) return this.config;
    if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
      throw new RpcError(ErrorCodes.InvalidParams, 'invalid params: the settings are not an object of config keys', {
        field: 'config',
      });
    }
    const r = validateConfig(mergeConfig(this.opts.config, settings));
    const issues = r.ok ? folderIssues(r.config, { mustExist: true, unchanged: this.config }) : r.issues;
    if (!r.ok || issues.length) {
      throw new RpcError(ErrorCodes.InvalidParams, `invalid configuration: ${formatIssues(issues)}`, {
        field: issues[0]?.path ?? 'config',
      });
    }
    this.settings = settings;
    this.replaceConfig(this.edits.effective(this.opts.config, r.config, settings));
    return this.config;
  }

  replaceConfig(next: Config): void {
    const prev = this.config;
    this.config = next;
    for (const l of this.configListeners) {
      try {
        l(next, prev);
      } catch (e) {
        this.logger.error(`applying configuration failed: ${(e as Error).message}`);
      }
    }
  }

  setChain(chain: string[], strategy?: Strategy): { chain: string[]; strategy: Strategy } {
    const unknown = chain.find((m) => !this.providerIdKnown(m));
    if (unknown) throw this.unknownModel(unknown);
    const patch: ConfigInput = { chain: dedupe(chain) };
    if (strategy) patch.strategy = strategy;
    const c = this.setConfig(patch);
    return { chain: c.chain, strategy: c.strategy };
  }

  setPrimary(model: string): { chain: string[]; strategy: Strategy } {
    if (!this.providerIdKnown(model)) throw this.unknownModel(model);
    return this.setChain([model, ...this.config.chain.filter((m) => m !== model)]);
  }

  providerIdKnown(model: string): boolean {
    const pid = providerOf(model);
    return this.config.providers.some((p) => p.id === pid);
  }

  unknownModel(model: string): RpcError {
    const ids = this.config.providers.map((p) => p.id);
    const known = ids.length ? ids.map((i) => `"${i}"`).join(', ') : '(none)';
    return new RpcError(
      ErrorCodes.UnknownModel,
      `unknown model "${model}": ${MODEL_ID_HINT} and the configured providers are ${known}`,
    );
  }

  // ---- secrets: memory only ----
  /** Returns whether the key actually changed (the client re-sends stored keys on every start). */
  setSecret(providerId: string, apiKey: string | null): boolean {
    const changed = this.secrets.get(providerId) !== (apiKey ?? undefined);
    // A replaced key stays known to the redactor: a request sent with it may still fail later
    // with an error that quotes it.
    if (apiKey === null) this.secrets.delete(providerId);
    else {
      this.secrets.set(providerId, apiKey);
      this.logger.addSecret(apiKey);
    }
    return changed;
  }

  /** The key for a provider: a secret set by the client wins over the environment variable. */
  apiKey(providerId: string): string | undefined {
    const s = this.secrets.get(providerId);
    if (s) return s;
    const p = this.config.providers.find((x) => x.id === providerId);
    const env = p && p.type !== 'local' ? p.apiKeyEnv : undefined;
    const v = env ? process.env[env] : undefined;
    if (v) this.logger.addSecret(v);
    return v || undefined;
  }

  broadcastStatus(status: Status): void {
    this.peers.broadcast(methods.statusChanged, status);
  }
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs)];
}
