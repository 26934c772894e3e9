// Routes: delivery records with their attempts (SPEC §4).
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Services } from '../../services/index.js';
import { isPlatformCaller, tenantScope } from '../plugins/auth.js';
import { bearerSecurity, IdParams, problemResponses, TenantQuery } from '../schemas.js';

export default async function deliveryRoutes(fastify: FastifyInstance, { services }: { services: Services }) {
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
    async (request) =>
      services.recovery.getDelivery(request.params.id, tenantScope(request), {
        platform: isPlatformCaller(request),
      }),
  );
}
