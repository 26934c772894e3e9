// Liveness and readiness (SPEC §4): /healthz answers while the process runs; /readyz checks that
// Redis answers and, where this process runs workers, that they run. Both JSON, no auth.
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Context } from '../../context.js';
import { VERSION } from '../../version.js';

export interface Readiness {
  /** Reports whether this process's workers run (when it runs any). */
  workers?: () => boolean;
}

/** A Redis that does not answer a PING within this is not ready. */
const REDIS_TIMEOUT_MS = 1000;

const Liveness = Type.Object({ status: Type.Literal('ok'), version: Type.String() });
const ReadinessReport = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
  checks: Type.Object({
    redis: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
    workers: Type.Optional(
      Type.Union([Type.Literal('ok'), Type.Literal('not running')], {
        description: 'only where this process runs workers',
      }),
    ),
  }),
});

async function redisAnswers(ctx: Context): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(reject, REDIS_TIMEOUT_MS, new Error('timeout'));
  });
  try {
    await Promise.race([ctx.redis.ping(), timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export default async function healthRoutes(
  app: FastifyInstance,
  { ctx, readiness }: { ctx: Context; readiness: Readiness },
) {
  app.get(
    '/healthz',
    { schema: { tags: ['operations'], summary: 'Liveness: the process runs', response: { 200: Liveness } } },
    async () => ({ status: 'ok', version: VERSION }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: Redis answers and, where this process runs workers, they run',
        response: { 200: ReadinessReport, 503: ReadinessReport },
      },
    },
    async (_request, reply) => {
      const checks: { redis: 'ok' | 'unavailable'; workers?: 'ok' | 'not running' } = {
        redis: (await redisAnswers(ctx)) ? 'ok' : 'unavailable',
      };
      if (readiness.workers) checks.workers = readiness.workers() ? 'ok' : 'not running';
      const ready = checks.redis === 'ok' && checks.workers !== 'not running';
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
    },
  );
}
