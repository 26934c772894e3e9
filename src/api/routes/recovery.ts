// Routes: recovery (see SPEC §4).
import type { FastifyInstance } from 'fastify';
import type { Context } from '../../context.js';

export default async function recoveryRoutes(_app: FastifyInstance, _opts: { ctx: Context }) {}
