// Liveness and readiness (SPEC §4): /healthz answers while the process runs; /readyz checks that
// Redis answers and, where this process runs workers, that they run and their deliveries are not
// stalled (src/delivery/stall.ts). Both JSON, no auth.
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { StallState } from '../../pipeline/stall.js';
import type { Services } from '../../services/index.js';
import { VERSION } from '../../version.js';
import { noSecurity } from '../schemas.js';

export interface Readiness {
  /** Reports whether this process's workers run (when it runs any). */
  workers?: () => boolean;
  /** Reports whether their delivery slots are stalled (when it runs workers). */
  stall?: () => StallState;
}

type WorkersCheck = 'ok' | 'not running' | 'stalled';

const Liveness = Type.Object({ status: Type.Literal('ok'), version: Type.String() });
const ReadinessReport = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
  checks: Type.Object({
    redis: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
    workers: Type.Optional(
      Type.Union([Type.Literal('ok'), Type.Literal('not running'), Type.Literal('stalled')], {
        description:
          'only where this process runs workers; `stalled`: every delivery slot busy with none freed for longer than DELIVERY_STALL_MS',
      }),
    ),
  }),
  detail: Type.Optional(Type.String({ description: 'why the process is not ready, when a check says more' })),
});

export default async function healthRoutes(
  app: FastifyInstance,
  { services, readiness }: { services: Services; readiness: Readiness },
) {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        operationId: 'health',
        summary: 'Liveness: the process runs',
        security: noSecurity,
        response: { 200: Liveness },
      },
    },
    async () => ({ status: 'ok', version: VERSION }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        operationId: 'ready',
        summary: 'Readiness: Redis answers and, where this process runs workers, they run and deliver',
        security: noSecurity,
        response: { 200: ReadinessReport, 503: ReadinessReport },
      },
    },
    async (_request, reply) => {
      const checks: { redis: 'ok' | 'unavailable'; workers?: WorkersCheck } = {
        redis: (await services.health.redisAnswers()) ? 'ok' : 'unavailable',
      };
      let detail: string | undefined;
      if (readiness.workers) {
        const stall = readiness.stall?.();
        checks.workers = !readiness.workers() ? 'not running' : stall?.stalled ? 'stalled' : 'ok';
        if (checks.workers === 'stalled' && stall) {
          const s = (ms: number) => `${Math.round(ms / 100) / 10} s`;
          detail = `every delivery slot (${stall.slots}) busy with none freed for ${s(stall.fullForMs)} (DELIVERY_STALL_MS ${s(stall.thresholdMs)})`;
        }
      }
      const ready = checks.redis === 'ok' && (checks.workers ?? 'ok') === 'ok';
      return reply
        .status(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not ready', checks, ...(detail ? { detail } : {}) });
    },
  );
}
