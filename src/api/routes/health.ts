// Liveness and readiness (SPEC §4): /healthz answers while the process runs; /readyz checks Redis.
import type { FastifyInstance } from 'fastify';
import type { Context } from '../../context.js';
import { VERSION } from '../../version.js';

export interface Readiness {
  /** Reports whether this process's workers run (when it runs any). */
  workers?: () => boolean;
}

export default async function healthRoutes(app: FastifyInstance, { ctx, readiness }: { ctx: Context; readiness: Readiness }) {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness' } }, async () => ({ status: 'ok', version: VERSION }));
  app.get('/readyz', { schema: { tags: ['operations'], summary: 'Readiness: Redis answers and workers run' } }, async (_req, reply) => {
    const checks: Record<string, string> = {};
    try {
      await Promise.race([ctx.redis.ping(), new Promise((_, rej) => setTimeout(rej, 1000, new Error('timeout')).unref())]);
      checks.redis = 'ok';
    } catch {
      checks.redis = 'unavailable';
    }
    if (readiness.workers) checks.workers = readiness.workers() ? 'ok' : 'not running';
    const ready = Object.values(checks).every((v) => v === 'ok');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
}
