// Delivery records with their attempts (SPEC §4).
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Context } from '../../pipeline/context.js';
import { notFound } from '../../domain/errors.js';
import { isPlatformCaller, tenantScope } from '../plugins/auth.js';
import { deliveryVisibleTo } from '../present.js';
import { bearerSecurity, IdParams, problemResponses, TenantQuery } from '../schemas.js';

export default async function deliveryRoutes(fastify: FastifyInstance, { ctx }: { ctx: Context }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/deliveries/:id',
    {
      onRequest: app.requireScope('deliveries:read'),
      schema: {
        tags: ['deliveries'],
        operationId: 'getDelivery',
        summary: 'A delivery record with every attempt',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        response: { 200: Type.Ref('Delivery'), ...problemResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const record = await ctx.deliveries.get(request.params.id);
      const tenant = tenantScope(request);
      if (!record || !deliveryVisibleTo(record, tenant, isPlatformCaller(request)))
        throw notFound('delivery');
      return record;
    },
  );
}
