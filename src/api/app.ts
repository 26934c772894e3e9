// Builds the Fastify app as layers: third-party plugins, then Hookline's services, then routes.
// Starting and stopping the process is src/main.ts's job.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import type { TrustProxy } from '../config.js';
import type { Context } from '../pipeline/context.js';
import { createServices } from '../services/index.js';
import { VERSION } from '../version.js';
import { validationError, type FieldError } from '../domain/errors.js';
import authPlugin from './plugins/auth.js';
import errorsPlugin, { frameworkErrors } from './plugins/errors.js';
import jsonBody from './plugins/json-body.js';
import rateLimits from './plugins/rate-limits.js';
import { DeliveryRecordSchema, DeliveryStateSchema } from '../domain/delivery-record.js';
import { ProblemSchema } from './schemas.js';
import deliveryRoutes from './routes/deliveries.js';
import eventRoutes from './routes/events.js';
import healthRoutes, { type Readiness } from './routes/health.js';
import subscriptionRoutes from './routes/subscriptions.js';
import clientRoutes from './routes/clients.js';
import recoveryRoutes from './routes/recovery.js';
import operationsRoutes from './routes/operations.js';
import portal from './portal/index.js';

export interface AppOptions {
  readiness?: Readiness;
  /** Extra plugins registered after the core routes (metrics, Bull Board, clients…). */
  plugins?: ((app: FastifyInstance, ctx: Context) => Promise<void>)[];
  fastify?: FastifyServerOptions;
}

/** TRUST_PROXY as Fastify takes it; a hop count becomes the function Fastify would make of it. */
function fastifyTrustProxy(tp: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof tp === 'number' ? (_address, hop) => hop < tp : tp;
}

export async function buildApp(ctx: Context, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger,
    bodyLimit: 1024 * 1024,
    // Slow or stalled clients do not hold sockets forever.
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 72_000,
    // X-Forwarded-For is believed only from the proxies TRUST_PROXY names (default: none).
    trustProxy: fastifyTrustProxy(ctx.config.TRUST_PROXY),
    requestIdHeader: 'x-request-id',
    genReqId: () => `req_${Math.random().toString(36).slice(2, 12)}`,
    frameworkErrors,
    ajv: {
      customOptions: {
        removeAdditional: false,
        allErrors: true,
        coerceTypes: 'array',
        useDefaults: true,
        strictNumbers: true,
      },
    },
    ...opts.fastify,
  });

  // Layer 1: third-party plugins, after the error handler so that their routes (/docs) inherit
  // it: a 429 there is problem+json `rate_limited` like anywhere else.
  await app.register(errorsPlugin);
  // A NUL in a query value or a path parameter is refused here, for every /v1 route: no store can
  // hold it (PostgreSQL's text refuses 0x00), so it would otherwise fail as a 500 deep in a query.
  // The portal's pages answer such links with their own expired page.
  app.addHook('preValidation', async (request) => {
    if (!request.url.startsWith('/v1/')) return;
    const bad: FieldError[] = [];
    for (const [where, values] of [
      ['querystring', request.query],
      ['params', request.params],
    ] as const) {
      if (!values || typeof values !== 'object') continue;
      for (const [name, v] of Object.entries(values as Record<string, unknown>))
        if ([v].flat().some((x) => typeof x === 'string' && x.includes('\u0000')))
          bad.push({ path: `/${where}/${name}`, message: 'must not contain a NUL character' });
    }
    // Ajv coerces the string `Infinity` to a number that passes an integer's bounds: a page size
    // is digits only.
    const limit = (request.query as Record<string, unknown> | undefined)?.limit;
    if ([limit].flat().some((x) => typeof x === 'string' && !/^\d{1,6}$/.test(x))) {
      bad.push({ path: '/querystring/limit', message: 'must be a whole number' });
    }
    if (bad.length > 0) throw validationError(bad);
  });
  await app.register(helmet, { contentSecurityPolicy: false, global: true });
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(jsonBody);
  // Per verified caller, else per source address; failed authentications per source address.
  await app.register(rateLimits, { ctx });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Hookline',
        version: VERSION,
        description:
          'Outbound webhook dispatcher: subscriptions, events, deliveries. Errors are application/problem+json.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      // PUBLIC_URL when set; else the server that serves this document (a relative URL).
      servers: [{ url: ctx.config.PUBLIC_URL || '/' }],
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
  await app.register(authPlugin, { adminToken: ctx.config.ADMIN_TOKEN });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  // Layer 3: routes, thin over the workflows (src/services), built once here.
  const services = createServices(ctx);
  await app.register(healthRoutes, { services, readiness: opts.readiness ?? {} });
  await app.register(eventRoutes, { ctx, services });
  await app.register(subscriptionRoutes, { services });
  await app.register(deliveryRoutes, { services });
  await app.register(clientRoutes, { services });
  await app.register(recoveryRoutes, { services });
  await app.register(operationsRoutes, { ctx });
  await app.register(portal, { ctx, services });
  for (const plugin of opts.plugins ?? []) await plugin(app, ctx);

  return app;
}
