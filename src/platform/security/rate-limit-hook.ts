// Per-IP request limits on /api/v1: a global limit for every request, plus a stricter
// named limit for auth routes and for writes. Standard RateLimit-* headers; 429 with Retry-After.
// Accounts named in RATE_LIMIT_EXEMPT_ACCOUNTS (a security scanner's) give their points back.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitConfig } from '../../config.ts';
import { requestAccount } from '../http/request-context.ts';
import type { RateLimiters } from './rate-limiters.ts';
import { countEvent, rateLimitedError } from './rate-limiters.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'auth' adds the strict auth limit on top of the global one; false exempts the route. */
    rateLimit?: 'auth' | false;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function setHeaders(reply: FastifyReply, limiter: RateLimiterAbstract, result: RateLimiterRes): void {
  reply.header('ratelimit-limit', limiter.points);
  reply.header('ratelimit-remaining', Math.max(0, result.remainingPoints));
  reply.header('ratelimit-reset', Math.ceil(result.msBeforeNext / 1000));
}

export function registerRateLimits(
  app: FastifyInstance,
  limiters: RateLimiters,
  limits: RateLimitConfig,
  identifyAccount?: (request: FastifyRequest) => Promise<string | undefined>,
): void {
  const global = limiters.create({ name: 'api-ip', points: limits.apiPerIpPerMinute, durationSeconds: 60 });
  const auth = limiters.create({ name: 'auth-ip', points: limits.authPerIpPerMinute, durationSeconds: 60 });
  const writes = limiters.create({ name: 'write-ip', points: limits.writesPerIpPerMinute, durationSeconds: 60 });
  const exempt = new Set(limits.exemptAccounts);
  const charged = new WeakMap<FastifyRequest, RateLimiterAbstract[]>();

  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config;
    if (config?.rateLimit === false) return;
    // The strictest limit that applies decides the headers a client sees.
    const applicable: RateLimiterAbstract[] = [global];
    if (config?.rateLimit === 'auth') applicable.push(auth);
    else if (!SAFE_METHODS.has(request.method)) applicable.push(writes);
    let tightest: { limiter: RateLimiterAbstract; result: RateLimiterRes } | undefined;
    if (exempt.size > 0) charged.set(request, applicable);
    for (const limiter of applicable) {
      const result = await countEvent(limiter, request.ip);
      if (result.consumedPoints > limiter.points) {
        setHeaders(reply, limiter, result);
        throw rateLimitedError(result); // carries Retry-After
      }
      if (!tightest || result.remainingPoints < tightest.result.remainingPoints) tightest = { limiter, result };
    }
    if (tightest) setHeaders(reply, tightest.limiter, tightest.result);
  });

  // The account is known only once the route's guard ran, after the limits were counted
  // (or not at all, when the request failed validation first): an exempt account's request
  // gives its points back when it is answered, so the address it comes from is limited only
  // by what other clients there send. No hook when no account is named.
  if (exempt.size === 0) return;
  app.addHook('onResponse', async (request) => {
    const spent = charged.get(request);
    if (!spent) return;
    const account = requestAccount(request) ?? (await identifyAccount?.(request));
    if (!account || !exempt.has(account)) return;
    await Promise.all(spent.map((limiter) => limiter.reward(request.ip, 1)));
  });
}
