// `npm run migrate`: applies the history migrations to DATABASE_URL (schema DATABASE_SCHEMA,
// default public) and makes the day partitions, then exits. Safe while Hookline runs: starting
// processes do the same under the same advisory locks.
import { createLogger } from '../../logger.js';
import { openPgHistory } from './pg-history.js';

// Read here until src/config.ts declares DATABASE_URL and DATABASE_SCHEMA (then: loadConfig).
const env = process.env;
const logger = createLogger(env.LOG_LEVEL ?? 'info');
const retentionDays = Number(env.DELIVERY_LOG_TTL_DAYS ?? 7);

if (!env.DATABASE_URL) {
  logger.error('DATABASE_URL is not set: there is no PostgreSQL history to migrate');
  process.exitCode = 2;
} else {
  try {
    const history = await openPgHistory({
      databaseUrl: env.DATABASE_URL,
      schema: env.DATABASE_SCHEMA || undefined,
      retentionDays: Number.isInteger(retentionDays) && retentionDays > 0 ? retentionDays : 7,
      logger,
    });
    await history.close();
    logger.info('history: schema up to date');
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'history: migration failed');
    process.exitCode = 1;
  }
}
