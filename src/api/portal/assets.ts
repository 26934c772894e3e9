// The portal's two static files, kept in memory and served by Hookline (no CDN, no build step).
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { PORTAL_CSS } from './assets/portal-css.js';
import { PORTAL_JS } from './assets/portal-js.js';
import { hidden } from './schema.js';

const FILES = {
  'portal.css': { type: 'text/css; charset=utf-8', body: PORTAL_CSS },
  'portal.js': { type: 'text/javascript; charset=utf-8', body: PORTAL_JS },
} as const;

export default async function portalAssets(app: FastifyInstance) {
  for (const [name, file] of Object.entries(FILES)) {
    const etag = `"${createHash('sha256').update(file.body).digest('base64url').slice(0, 16)}"`;
    app.get(`/portal/assets/${name}`, { schema: hidden }, async (request, reply) => {
      reply.header('etag', etag).header('cache-control', 'public, max-age=300');
      if (request.headers['if-none-match'] === etag) return reply.status(304).send();
      return reply.type(file.type).send(file.body);
    });
  }
}
