// Routes: operations (SPEC §4): Prometheus metrics and the Bull Board mount.
import type { FastifyInstance } from 'fastify';
import type { Context } from '../../pipeline/context.js';
import bullBoardPlugin from '../plugins/bull-board.js';
import { noSecurity } from '../schemas.js';

export default async function operationsRoutes(app: FastifyInstance, { ctx }: { ctx: Context }) {
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        operationId: 'metrics',
        summary: 'Prometheus metrics (text exposition format)',
        security: noSecurity,
        response: {
          200: {
            description: 'Prometheus text format 0.0.4',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (_request, reply) => {
      const text = await ctx.metrics.scrape();
      return reply.type(ctx.metrics.contentType).send(text);
    },
  );
  await app.register(bullBoardPlugin, { ctx });
}
