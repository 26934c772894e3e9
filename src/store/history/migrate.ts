// Versioned schema of the PostgreSQL history (migrations/*.sql), applied by node-pg-migrate at
// start and by `npm run migrate`. Many processes may start at once: the runner holds a session
// advisory lock while it reads and applies migrations, and the others wait for it (then find
// nothing left to do).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type { Logger } from '../../logger.js';

export const MIGRATIONS_TABLE = 'hookline_migrations';

/** migrations/ at the package root, from src/store/history (tsx) or dist/src/store/history (built). */
export function migrationsDir(): string {
  for (const up of ['../../../migrations', '../../../../migrations']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  throw new Error('the migrations/ folder is missing from the Hookline package');
}

/** The advisory lock of one schema's migrations: processes migrating other schemas do not wait. */
export function migrationLockId(schema: string): number {
  return createHash('sha256').update(`hookline-migrations:${schema}`).digest().readUIntBE(0, 6);
}

export interface MigrateOptions {
  databaseUrl: string;
  /** Schema of the history tables (created if missing). Default `public`. */
  schema?: string;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** Applies the migrations not applied yet; returns their names (none when up to date). */
export async function migrateHistory(opts: MigrateOptions): Promise<string[]> {
  const schema = opts.schema ?? 'public';
  const log = opts.logger;
  const applied = await runner({
    databaseUrl: opts.databaseUrl,
    dir: migrationsDir(),
    migrationsTable: MIGRATIONS_TABLE,
    schema,
    createSchema: true,
    direction: 'up',
    singleTransaction: true,
    checkOrder: true,
    lockValue: migrationLockId(schema),
    advisoryLockMode: 'wait',
    logger: {
      info: (msg) => log?.info({ schema }, `history migrations: ${msg}`),
      warn: (msg) => log?.warn({ schema }, `history migrations: ${msg}`),
      error: (msg) => log?.error({ schema }, `history migrations: ${msg}`),
    },
  });
  return applied.map((m) => m.name);
}
