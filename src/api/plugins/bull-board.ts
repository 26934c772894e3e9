// Bull Board at /admin/queues (SPEC §4): both queues, retry and clean allowed, every route of it
// (page, JSON API, static assets) behind HTTP basic auth whose password is ADMIN_TOKEN.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Context } from '../../pipeline/context.js';
import { safeEqual } from '../../crypto.js';
import { HooklineError } from '../../domain/errors.js';
import type { HooklineEvent } from '../../domain/event.js';
import { presentEvent } from '../present.js';
import type { DeliveryJobData, EventJobData } from '../../pipeline/jobs.js';
import { ADMIN } from './auth.js';
import { sendProblem } from './errors.js';

export const BOARD_PATH = '/admin/queues';

type BoardServerAdapter = Parameters<typeof createBullBoard>[0]['serverAdapter'];

/** Any username; the password must be the admin token. */
export function basicAuthOk(header: string | undefined, password: string): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon !== -1 && safeEqual(decoded.slice(colon + 1), password);
}

export default async function bullBoardPlugin(app: FastifyInstance, { ctx }: { ctx: Context }) {
  const events = new BullMQAdapter(ctx.eventsQueue, {
    description: 'Published events: fanned out, and first attempts made',
  });
  // Job data as the board shows it: an event's own deliveryReport secret is masked.
  const shown = (e: HooklineEvent) => presentEvent(e, ctx.box);
  events.setFormatter('data', (data: EventJobData) =>
    'events' in data ? { events: data.events.map(shown) } : shown(data),
  );
  const deliveries = new BullMQAdapter(ctx.deliveriesQueue, {
    description:
      'Deliveries needing another run: retries, holds, failures (first attempts are made by the fan-out). Delayed jobs include held ones: paused or breaker-open subscriptions, rate limits, and deliveries parked over their subscription’s maxInFlight (woken in arrival order as its requests finish; GET /v1/deliveries/:id shows heldReason).',
  });
  deliveries.setFormatter('data', (data: DeliveryJobData) =>
    typeof data.e === 'string' ? data : { ...data, e: shown(data.e) },
  );

  const serverAdapter = new FastifyAdapter().setBasePath(BOARD_PATH);
  createBullBoard({
    queues: [events, deliveries],
    // @bull-board/fastify 9.10.1 types against its own nested copy of @bull-board/api 9.10.1; the
    // interface is the same as 9.10.2's, only a private field's declaration differs.
    serverAdapter: serverAdapter as unknown as BoardServerAdapter,
    options: { uiConfig: { boardTitle: 'Hookline', hideDocsLink: true } },
  });

  // Registered on this encapsulated context, so it runs before every board route, static files included.
  // Its errors are answered here: the board's own error handler would not speak problem+json.
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    if (header) {
      try {
        await app.authFailures.assertMayTry(request, reply);
      } catch (err) {
        if (err instanceof HooklineError) return sendProblem(reply, err);
        throw err;
      }
      if (basicAuthOk(header, ctx.config.ADMIN_TOKEN)) {
        request.principal = ADMIN;
        return;
      }
      await app.authFailures.record(request);
    }
    reply.header('www-authenticate', 'Basic realm="Hookline admin", charset="UTF-8"');
    return sendProblem(
      reply,
      new HooklineError('unauthorized', 'basic auth with the admin token is required'),
    );
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: BOARD_PATH });
}
