// Routes: operations (see SPEC §4).
import type { FastifyInstance } from 'fastify';
import type { Context } from '../../context.js';

export default async function operationsRoutes(_app: FastifyInstance, _opts: { ctx: Context }) {}
