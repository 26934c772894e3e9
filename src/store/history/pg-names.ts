// Tenants, subscriptions and event types as integer keys (table `names`): 4 bytes in rows and
// index entries instead of the text. Keys never change, so each process caches them forever;
// only a name it has not seen yet costs a round trip.
import type { Pool } from 'pg';

export type NameKind = 't' | 's' | 'e';

/**
 * Creates the missing names and reads their keys in one statement. A name another process is
 * creating at the same moment is not visible to this statement's snapshot: it is read again.
 */
const UPSERT_NAMES = `
WITH wanted AS (SELECT * FROM unnest($1::"char"[], $2::text[]) AS w(kind, name)),
created AS (
  INSERT INTO names (kind, name) SELECT kind, name FROM wanted
  ON CONFLICT (kind, name) DO NOTHING
  RETURNING kind::text, name, key
)
SELECT kind, name, key FROM created
UNION ALL
SELECT n.kind::text, n.name, n.key FROM names n JOIN wanted w ON n.kind = w.kind AND n.name = w.name`;

export function createNameKeys(pool: Pool) {
  const id = (kind: NameKind, name: string) => `${kind}\n${name}`;
  // Keys by kind, then name: a batch looks up five names a row, without building a string each.
  const byKind: Record<NameKind, Map<string, number>> = { t: new Map(), s: new Map(), e: new Map() };
  const remember = (kind: NameKind, name: string, key: number) => byKind[kind].set(name, key);

  return {
    /** The key of a name, or undefined while it has none (no record names it yet). */
    async lookup(kind: NameKind, name: string): Promise<number | undefined> {
      const known = byKind[kind].get(name);
      if (known !== undefined) return known;
      const { rows } = await pool.query<{ key: number }>(
        `SELECT key FROM names WHERE kind = $1::"char" AND name = $2`,
        [kind, name],
      );
      if (rows[0]) remember(kind, name, rows[0].key);
      return rows[0]?.key;
    },

    /** The key of each (kind, name), creating those that do not exist yet. */
    async resolve(wanted: Iterable<[NameKind, string]>): Promise<(kind: NameKind, name: string) => number> {
      let missing = new Map<string, [NameKind, string]>();
      for (const [kind, name] of wanted)
        if (!byKind[kind].has(name)) missing.set(id(kind, name), [kind, name]);
      for (let round = 0; missing.size > 0; round++) {
        if (round === 5) throw new Error(`history names not resolved: ${[...missing.keys()].join(', ')}`);
        const list = [...missing.values()];
        const { rows } = await pool.query<{ kind: NameKind; name: string; key: number }>(UPSERT_NAMES, [
          list.map(([k]) => k),
          list.map(([, n]) => n),
        ]);
        for (const r of rows) remember(r.kind, r.name, r.key);
        missing = new Map([...missing].filter(([, [kind, name]]) => !byKind[kind].has(name)));
      }
      return (kind, name) => byKind[kind].get(name)!;
    },
  };
}

export type NameKeys = ReturnType<typeof createNameKeys>;
