// Builds the Fastify app as layers: third-party plugins, then Hookline's services, then routes.
// Starting and stopping the process is src/main.ts's job.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { createHash } from 'node:crypto';
import type { Context } from '../context.js';
import { VERSION } from '../version.js';
import authPlugin from './plugins/auth.js';
import errorsPlugin, { frameworkErrors } from './plugins/errors.js';
import jsonBody from './plugins/json-body.js';
import { DeliveryRecordSchema, DeliveryStateSchema } from '../domain/delivery-record.js';
import { ProblemSchema } from './schemas.js';
import deliveryRoutes from './routes/deliveries.js';
import eventRoutes from './routes/events.js';
import healthRoutes, { type Readiness } from './routes/health.js';
import subscriptionRoutes from './routes/subscriptions.js';
import clientRoutes from './routes/clients.js';
import recoveryRoutes from './routes/recovery.js';
import operationsRoutes from './routes/operations.js';

export interface AppOptions {
  readiness?: Readiness;
  /** Extra plugins registered after the core routes (metrics, Bull Board, clients…). */
  plugins?: ((app: FastifyInstance, ctx: Context) => Promise<void>)[];
  fastify?: FastifyServerOptions;
}

export async function buildApp(ctx: Context, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger,
    bodyLimit: 1024 * 1024,
    // Slow or stalled clients do not hold sockets forever.
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 72_000,
    trustProxy: true,
    requestIdHeader: 'x-request-id',
    genReqId: () => `req_${Math.random().toString(36).slice(2, 12)}`,
    frameworkErrors,
    ajv: {
      customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true },
    },
    ...opts.fastify,
  });

  // Layer 1: third-party plugins.
  await app.register(helmet, { contentSecurityPolicy: false, global: true });
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(jsonBody);
  // Per client (bearer token, else address), shared by every API process through Redis.
  await app.register(rateLimit, {
    global: true,
    max: ctx.config.API_RATE_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    redis: ctx.redis,
    nameSpace: `${ctx.config.REDIS_PREFIX}:ratelimit:`,
    skipOnError: true,
    allowList: (request) => /^\/(healthz|readyz|metrics)\b/.test(request.url),
    keyGenerator: (request) => {
      const auth = request.headers.authorization;
      return auth ? createHash('sha256').update(auth).digest('base64url').slice(0, 22) : `ip:${request.ip}`;
    },
    errorResponseBuilder: (_request, context) =>
      Object.assign(
        new Error(`rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}`),
        {
          statusCode: 429,
        },
      ),
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Hookline',
        version: VERSION,
        description:
          'Outbound webhook dispatcher: subscriptions, events, deliveries. Errors are application/problem+json.',
      },
      ...(ctx.config.PUBLIC_URL ? { servers: [{ url: ctx.config.PUBLIC_URL }] } : {}),
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'ADMIN_TOKEN or an access token from POST /v1/auth/token',
          },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) => (json.$id as string | undefined) ?? `def-${i}`,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.addSchema(ProblemSchema);
  // Every answer that shows a delivery refers to these ('Delivery', 'DeliveryState').
  app.addSchema(DeliveryRecordSchema);
  app.addSchema(DeliveryStateSchema);

  // Layer 2: Hookline's own services.
  await app.register(errorsPlugin);
  await app.register(authPlugin, { adminToken: ctx.config.ADMIN_TOKEN });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  // Layer 3: routes.
  await app.register(healthRoutes, { ctx, readiness: opts.readiness ?? {} });
  await app.register(eventRoutes, { ctx });
  await app.register(subscriptionRoutes, { ctx });
  await app.register(deliveryRoutes, { ctx });
  await app.register(clientRoutes, { ctx });
  await app.register(recoveryRoutes, { ctx });
  await app.register(operationsRoutes, { ctx });
  for (const plugin of opts.plugins ?? []) await plugin(app, ctx);

  return app;
}
