// Rate limits shared by every API process through Redis (SPEC §7). Requests per minute are
// counted per verified caller (an API client, the admin) once authenticated and per source
// address before, never per Authorization header: its spellings and every guessed token would
// each get a fresh bucket. Failed authentications are counted per source address, and a source
// past its limit is refused before its credentials are even looked at.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import ipaddr from 'ipaddr.js';
import type { Context } from '../../pipeline/context.js';
import { HooklineError } from '../../domain/errors.js';
import { execAll } from '../../store/delivery-store.js';
import { withProblemResponses } from '../schemas.js';

const WINDOW_MS = 60_000;
/** Operations endpoints, probed by machines: never rate limited. */
const UNLIMITED = /^\/(healthz|readyz|metrics)\b/;

export interface AuthFailureLimiter {
  /** 429 `rate_limited` (with Retry-After) when the request's source failed too often this minute. */
  assertMayTry(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Counts one failed authentication against the request's source. */
  record(request: FastifyRequest): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    authFailures: AuthFailureLimiter;
  }
}

/**
 * The address a request comes from: the socket's, or with TRUST_PROXY the one its trusted
 * proxies report (app.ts hands TRUST_PROXY to Fastify's trustProxy, which sets request.ip).
 * IPv6 is taken per /64, the block one host is usually given.
 */
export function sourceAddress(request: FastifyRequest): string {
  const ip = request.ip ?? 'unknown';
  if (!ipaddr.isValid(ip)) return ip;
  const addr = ipaddr.process(ip); // IPv4-mapped IPv6 becomes IPv4
  if (addr.kind() === 'ipv4') return addr.toString();
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/64`).toRFC5952String()}/64`;
}

/** The bucket of a request: who it is when authenticated, else where it comes from. */
export function callerKey(request: FastifyRequest): string {
  const p = request.principal;
  if (p?.kind === 'admin') return 'admin';
  if (p?.clientId) return `client:${p.clientId}`;
  return `ip:${sourceAddress(request)}`;
}

export default fp(
  async function rateLimits(app: FastifyInstance, { ctx }: { ctx: Context }) {
    const { config, redis, keys } = ctx;
    // Runs in each route's onRequest after the route's own hooks, so after authentication.
    await app.register(rateLimit, {
      global: true,
      max: config.API_RATE_LIMIT_PER_MINUTE,
      timeWindow: WINDOW_MS,
      redis,
      nameSpace: `${config.REDIS_PREFIX}:ratelimit:`,
      skipOnError: true,
      allowList: (request) => UNLIMITED.test(request.url),
      keyGenerator: callerKey,
      errorResponseBuilder: (_request, context) =>
        Object.assign(
          new Error(`rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}`),
          { statusCode: 429 },
        ),
    });

    // Every limited route may answer 429: its OpenAPI operation says so.
    app.addHook('onRoute', (route) => {
      if (route.schema && !UNLIMITED.test(route.url))
        route.schema = withProblemResponses(route.schema, [429]);
    });

    const max = config.AUTH_FAILURES_PER_MINUTE;
    app.decorate('authFailures', {
      async assertMayTry(request, reply) {
        const key = keys.authFailures(sourceAddress(request));
        const [count, pttl] = (await execAll(redis.pipeline().get(key).pttl(key))) as [string | null, number];
        if (Number(count ?? 0) < max) return;
        const seconds = Math.max(1, Math.ceil(pttl / 1000));
        reply.header('retry-after', String(seconds));
        throw new HooklineError(
          'rate_limited',
          `too many failed authentications from this address; retry in ${seconds} s`,
        );
      },
      async record(request) {
        const source = sourceAddress(request);
        const key = keys.authFailures(source);
        // The window starts at the first failure; INCR keeps the expiry SET gave it.
        const [, count] = await execAll(redis.multi().set(key, '0', 'PX', WINDOW_MS, 'NX').incr(key));
        if (count === max)
          request.log.warn({ source, failures: count }, 'too many failed authentications: source refused');
      },
    } satisfies AuthFailureLimiter);
  },
  { name: 'rate-limits' },
);
