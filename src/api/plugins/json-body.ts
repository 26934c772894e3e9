// JSON request bodies: Fastify's own parser (prototype poisoning refused) plus a nesting limit,
// because a deeply nested body parses fine but overflows the stack of whatever recurses into
// it later (merge patch, JSON.stringify when storing, the queue's serializer): a 5xx for bad input.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { validationError } from '../../domain/errors.js';
import { nestsDeeperThan } from '../../domain/json-depth.js';

/** Deeper bodies are refused with 400; real event data and filters nest a handful of levels. */
export const MAX_JSON_DEPTH = 64;

export default fp(
  async function jsonBody(app: FastifyInstance) {
    const parse = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    // application/merge-patch+json (RFC 7396) is JSON too: PATCH accepts it.
    app.addContentTypeParser(
      ['application/json', 'application/merge-patch+json'],
      { parseAs: 'string' },
      (request, body, done) => {
        void parse(request, body as string, (err, value) => {
          if (err) return done(err, undefined);
          if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
            return done(
              validationError([{ path: '/', message: `nests deeper than ${MAX_JSON_DEPTH} levels` }]),
              undefined,
            );
          }
          done(null, value);
        });
      },
    );
  },
  { name: 'json-body' },
);
