// The gateway's routes: OpenAI's Chat Completions and Completions, Anthropic's Messages, and the model
// list in whichever shape the client expects (Anthropic clients send `anthropic-version`).
import type http from 'node:http';
import { isModelId, providerOf } from '../../protocol/modelId';
import type { Services } from '../app/services';
import { openAiError, sendJson } from '../transports/httpIo';
import { anthropicError, handleCountTokens, handleMessages } from './anthropicMessages';
import type { GatewayDeps } from './deps';
import { handleOpenAi } from './openaiGateway';

export type { GatewayDeps } from './deps';

const ROUTES =
  'POST /v1/chat/completions, POST /v1/completions, POST /v1/messages, POST /v1/messages/count_tokens and GET /v1/models';

export async function handleGateway(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  deps: GatewayDeps,
): Promise<void> {
  const anthropic = req.headers['anthropic-version'] !== undefined || url.pathname.startsWith('/v1/messages');
  const path = url.pathname.replace(/\/+$/, '');
  if (req.method === 'GET' && path === '/v1/models') return listModels(res, deps.services, anthropic);
  if (req.method === 'POST') {
    if (path === '/v1/chat/completions') return handleOpenAi(req, res, 'chat', deps);
    if (path === '/v1/completions') return handleOpenAi(req, res, 'text', deps);
    if (path === '/v1/messages') return handleMessages(req, res, deps);
    if (path === '/v1/messages/count_tokens') return handleCountTokens(req, res, deps);
  }
  const message = `no route ${req.method} ${url.pathname}: the gateway serves ${ROUTES}`;
  sendJson(
    res,
    404,
    anthropic ? anthropicError(404, message) : openAiError(message, 'invalid_request_error', 'not_found'),
  );
}

function listModels(res: http.ServerResponse, s: Services, anthropic: boolean): void {
  const created = Math.floor(s.state.startedAt / 1000);
  const ids = [
    ...new Set<string>([
      'backstop',
      ...Object.keys(s.state.config.chains).map((n) => `chain:${n}`),
      ...s.state.config.chain,
      ...s.models().map((m) => m.id),
    ]),
  ];
  if (anthropic) {
    const at = new Date(s.state.startedAt).toISOString();
    sendJson(res, 200, {
      data: ids.map((id) => ({
        type: 'model',
        id,
        display_name: id === 'backstop' ? 'Backstop chain' : id,
        created_at: at,
      })),
      has_more: false,
      first_id: ids[0] ?? null,
      last_id: ids.at(-1) ?? null,
    });
    return;
  }
  sendJson(res, 200, {
    object: 'list',
    data: ids.map((id) => ({
      id,
      object: 'model',
      created,
      owned_by: isModelId(id) ? providerOf(id) : 'backstop',
    })),
  });
}
