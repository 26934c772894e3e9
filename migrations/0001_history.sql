-- Delivery history in PostgreSQL (docs/history-postgres.md): events and delivery records,
-- partitioned by day on their creation time. Day partitions are created and dropped by the
-- maintenance in src/store/history/partitions.ts, never by a migration.
--
-- Byte budget: tenants, subscriptions and event types are integer keys into `names`; long text
-- keys are indexed by a 64-bit hash (the query re-checks the text); the indexes scanned in time
-- order hold 16 bytes of key (they fill their pages: PostgreSQL splits pages of such indexes
-- after the new item when inserts come in ascending order); attempts are compact JSON on the
-- delivery row.

-- Up Migration

CREATE TABLE names (
  key integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- t: tenant, s: subscription, e: event type
  kind "char" NOT NULL,
  name text NOT NULL,
  UNIQUE (kind, name)
);

CREATE TABLE events (
  tenant_key integer NOT NULL,
  type_key integer NOT NULL,
  -- acceptedAt
  created_at timestamptz NOT NULL,
  -- NULL when it equals created_at
  occurred_at timestamptz,
  id text NOT NULL,
  message_id text,
  -- the event's other fields, JSON (NULL: none)
  body text
) PARTITION BY RANGE (created_at);

CREATE TABLE deliveries (
  tenant_key integer NOT NULL,
  subscription_key integer NOT NULL,
  event_type_key integer NOT NULL,
  -- p pending, r retrying, s succeeded, f failed, c cancelled (src/store/history/codec.ts)
  status "char" NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  id text NOT NULL,
  event_id text NOT NULL,
  -- '' rather than NULL: a row without NULLs has no null bitmap (8 bytes on this table)
  redriven_to text NOT NULL DEFAULT '',
  -- rare fields (target, series, retryOf, nextAttemptAt, …) as a JSON object, '' when none
  extra text NOT NULL DEFAULT '',
  -- [[n, startedAt (ms after created_at), durationMs, statusCode, [code, message] | null, headers, body], …]
  attempts text NOT NULL DEFAULT '[]'
) PARTITION BY RANGE (created_at);

-- A unique index on a partitioned table must hold the partition key: an event is unique per
-- (tenant, id, acceptance time), a delivery per (id, creation time); writers always send the
-- same times for the same record, so an upsert finds its row.
CREATE UNIQUE INDEX events_key ON events ((hashtextextended(id, tenant_key)), created_at);
CREATE INDEX events_tenant ON events (tenant_key, created_at) WITH (fillfactor = 100);
CREATE INDEX events_type ON events (tenant_key, type_key, created_at) WITH (fillfactor = 100);
CREATE INDEX events_message ON events ((hashtextextended(message_id, tenant_key)))
  WHERE message_id IS NOT NULL;

CREATE UNIQUE INDEX deliveries_key ON deliveries ((hashtextextended(id, 0)), created_at);
CREATE INDEX deliveries_tenant ON deliveries (tenant_key, created_at) WITH (fillfactor = 100);
CREATE INDEX deliveries_type ON deliveries (tenant_key, event_type_key, created_at) WITH (fillfactor = 100);
CREATE INDEX deliveries_subscription ON deliveries (subscription_key, created_at) WITH (fillfactor = 100);
CREATE INDEX deliveries_event ON deliveries ((hashtextextended(event_id, tenant_key)));
-- Most deliveries succeed: every other status is indexed, for its filter, at little cost.
CREATE INDEX deliveries_unsettled ON deliveries (tenant_key, status, created_at) WHERE status <> 's';

-- The attempts of two writes of one delivery, merged by attempt number: each n once, the
-- version of `preferred` where both have it, in n order. Elements keep their JSON text as is.
CREATE FUNCTION merge_attempts(preferred text, other text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce('[' || string_agg(a, ',' ORDER BY n) || ']', '[]')
  FROM (
    SELECT DISTINCT ON (n) n, a
    FROM (
      SELECT (x ->> 0)::int AS n, x::text AS a, 0 AS rank FROM json_array_elements(preferred::json) x
      UNION ALL
      SELECT (x ->> 0)::int, x::text, 1 FROM json_array_elements(other::json) x
    ) both_sides
    ORDER BY n, rank
  ) merged
$$;

-- Down Migration

DROP FUNCTION merge_attempts(text, text);
DROP TABLE deliveries;
DROP TABLE events;
DROP TABLE names;
