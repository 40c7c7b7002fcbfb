// `GET /api/v1/ws`: the WebSocket upgrade, run through the same edge as every request
// (request id, rate limit, headers, the error envelope on refusal) and authenticated
// before the upgrade; an upgraded socket goes to the gateway.
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';
import { API_PREFIX } from '../http/openapi.ts';
import type { RealtimeAuthenticator, RealtimeIdentity } from './contract.ts';
import type { RealtimeGateway } from './gateway.ts';

export const WEBSOCKET_PATH = '/ws';

/**
 * For every upgrade request Node hands over: once answered over HTTP (a refusal, or any
 * other route), its socket is ended, since Node no longer manages it and it would stay open.
 * A WebSocket upgrade anywhere but the gateway is refused with 404.
 */
export function strayUpgradeRefusal(request: FastifyRequest, reply: FastifyReply): AppError | undefined {
  const { socket } = request.raw;
  reply.raw.once('finish', () => socket.end());
  if (request.headers.upgrade?.toLowerCase() !== 'websocket' || request.routeOptions.url === `${API_PREFIX}${WEBSOCKET_PATH}`) {
    return undefined;
  }
  return new AppError('NOT_FOUND', `WebSocket upgrades are served at ${API_PREFIX}${WEBSOCKET_PATH} only`);
}

/**
 * Registers the route in `api` (the /api/v1 scope), inside a scope of its own so that
 * @fastify/websocket's hooks and its handler wrapping stay off every other route.
 */
export async function registerRealtimeRoute(
  api: FastifyInstance,
  options: { gateway: RealtimeGateway; authenticator: RealtimeAuthenticator; maxFrameBytes: number; closeWaitMs: number },
): Promise<void> {
  const { gateway, authenticator } = options;
  const identities = new WeakMap<FastifyRequest, RealtimeIdentity>();
  await api.register(async (scope) => {
    await scope.register(websocket, {
      // ws closes a larger frame with 1009 itself; no compression: deflate state costs memory per socket.
      options: { maxPayload: options.maxFrameBytes, perMessageDeflate: false, clientTracking: false },
      // Shutdown closes with 1001 and waits for the close frames, instead of the plugin's bare close().
      preClose: async () => gateway.closeAll(options.closeWaitMs),
      // A peer's protocol error (invalid UTF-8, an oversize frame): ws has already sent the
      // close code; terminating here would cut that frame off. Anything else ends the socket.
      errorHandler: (error, socket, request) => {
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
          request.log.info({ err: error }, 'websocket closed on a protocol error');
          return;
        }
        request.log.warn({ err: error }, 'websocket error');
        socket.terminate();
      },
    });
    scope.route({
      method: 'GET',
      url: WEBSOCKET_PATH,
      schema: { hide: true },
      preHandler: async (request) => {
        identities.set(request, await authenticator.authenticateUpgrade(request));
      },
      handler: async () => {
        throw new AppError('VALIDATION_FAILED', 'This endpoint speaks WebSocket only: send an "Upgrade: websocket" request');
      },
      wsHandler: (socket, request) => {
        const identity = identities.get(request);
        if (!identity) throw new Error('websocket upgraded without an authenticated caller');
        gateway.accept(socket, identity, request.id, request.log);
      },
    });
  });
}
