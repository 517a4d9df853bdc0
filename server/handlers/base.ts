// Configuration, chain and secrets: the methods every front end needs first.
import { methods } from '../../protocol/index';
import type { ConfigInput } from '../../protocol/config';
import { ErrorCodes } from '../../protocol/errors';
import { parseParams, schemas } from '../params';
import { RpcError } from '../rpcError';
import type { HandlerTable } from '../rpc';
import type { Services } from '../services';

export function registerBase(t: HandlerTable, s: Services): void {
  t.on(methods.status, () => s.status());
  t.on(methods.getConfig, () => s.state.config);
  t.on(methods.setConfig, async (p: ConfigInput) => {
    const before = JSON.stringify(s.state.config.providers);
    const c = s.state.setConfig(p);
    s.log.info('configuration updated');
    // New providers or folders: answer once their models are known, so the next request finds them.
    if (JSON.stringify(c.providers) !== before) await s.catalog.rescan();
    return c;
  });
  t.on(methods.setChain, (p) => {
    const v = parseParams(schemas.setChain, p);
    return s.state.setChain(v.chain, v.strategy);
  });
  t.on(methods.setPrimary, (p) => s.state.setPrimary(parseParams(schemas.setPrimary, p).model));
  t.on(methods.setSecret, (p) => {
    const v = parseParams(schemas.setSecret, p);
    if (!s.state.config.providers.some((x) => x.id === v.providerId)) {
      throw new RpcError(ErrorCodes.InvalidParams, `invalid params: providerId: unknown provider "${v.providerId}"; the configured providers are ${s.state.config.providers.map((p) => `"${p.id}"`).join(', ') || '(none)'}`, { field: 'providerId' });
    }
    if (s.state.setSecret(v.providerId, v.apiKey)) s.onSecretChanged(v.providerId);
    return { ok: true as const };
  });
}
