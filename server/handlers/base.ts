// Configuration, chain and secrets: the methods every front end needs first.
import { ErrorCodes } from '../../protocol/errors';
import type { Handlers } from '../rpc/handlerTable';
import { RpcError } from '../rpc/rpcError';
import type { Services } from '../app/services';

type BaseHandlers = Pick<Handlers, 'status' | 'getConfig' | 'setConfig' | 'setChain' | 'setPrimary' | 'setSecret'>;

export function baseHandlers(s: Services): BaseHandlers {
  return {
    status: () => s.status(),
    getConfig: () => s.state.config,
    setConfig: async (p) => {
      const before = JSON.stringify(s.state.config.providers);
      const c = s.state.setConfig(p);
      s.log.info('configuration updated');
      // New providers or folders: answer once their models are known, so the next request finds them.
      if (JSON.stringify(c.providers) !== before) await s.catalog.rescan();
      return c;
    },
    setChain: (p) => s.state.setChain(p.chain, p.strategy),
    setPrimary: (p) => s.state.setPrimary(p.model),
    setSecret: (p) => {
      const providers = s.state.config.providers;
      if (!providers.some((x) => x.id === p.providerId)) {
        const known = providers.map((x) => `"${x.id}"`).join(', ') || '(none)';
        throw new RpcError(
          ErrorCodes.InvalidParams,
          `invalid params: providerId: unknown provider "${p.providerId}"; the configured providers are ${known}`,
          { field: 'providerId' },
        );
      }
      if (s.state.setSecret(p.providerId, p.apiKey)) s.onSecretChanged(p.providerId);
      return { ok: true as const };
    },
  };
}
