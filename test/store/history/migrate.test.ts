// History migrations against a real server: processes starting at once apply each migration
// once (the others wait on the advisory lock, then find nothing to do); `npm run migrate`'s
// entry point does the same from the command line.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { migrateHistory, MIGRATIONS_TABLE } from '../../../src/store/history/migrate.js';
import { dropSchema, PG_URL, randomSchema } from '../../helpers/pg.js';

const schemas: string[] = [];
afterEach(async () => {
  for (const s of schemas.splice(0)) await dropSchema(s);
});

async function tables(schema: string): Promise<string[]> {
  const pool = new Pool({ connectionString: PG_URL, max: 1 });
  try {
    const { rows } = await pool.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
      [schema],
    );
    return rows.map((r) => r.name);
  } finally {
    await pool.end();
  }
}

async function applied(schema: string): Promise<string[]> {
  const pool = new Pool({ connectionString: PG_URL, max: 1 });
  try {
    const { rows } = await pool.query<{ name: string }>(`SELECT name FROM ${schema}.${MIGRATIONS_TABLE}`);
    return rows.map((r) => r.name);
  } finally {
    await pool.end();
  }
}

describe('history migrations', () => {
  it('are applied once when several processes start at the same moment', async () => {
    const schema = randomSchema();
    schemas.push(schema);
    const results = await Promise.all(
      Array.from({ length: 6 }, () => migrateHistory({ databaseUrl: PG_URL, schema })),
    );
    expect(results.filter((r) => r.length > 0)).toEqual([['0001_history']]);
    expect(await applied(schema)).toEqual(['0001_history']);
    expect(await tables(schema)).toEqual(['deliveries', 'events', MIGRATIONS_TABLE, 'names']);
    expect(await migrateHistory({ databaseUrl: PG_URL, schema })).toEqual([]);
  });

  it('are applied by the migrate command, which makes the day partitions too', async () => {
    const schema = randomSchema();
    schemas.push(schema);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/store/history/migrate-main.ts'], {
      env: { ...process.env, DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, LOG_LEVEL: 'silent' },
      stdio: 'inherit',
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(await applied(schema)).toEqual(['0001_history']);
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    expect(await tables(schema)).toContain(`deliveries_p${today}`);
  });
});
