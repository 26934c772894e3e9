// The files operators import: docs/prometheus/alerts.yml passes `promtool check rules`, and every
// metric the rules and docs/grafana/hookline.json read is one a running Hookline exports (scraped
// from its /metrics after a delivery, a failed attempt and an OAuth2 token request, with the
// PostgreSQL history on so its metrics exist too).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { dropSchema, PG_URL, randomSchema } from '../helpers/pg.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { oauth2Settings, startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { dashboardExprs, exportedNames, metricNames, ruleExprs } from './promql-names.js';

const root = new URL('../../', import.meta.url);
const rulesPath = new URL('docs/prometheus/alerts.yml', root).pathname;
const rules = readFileSync(rulesPath, 'utf8');
const dashboard = JSON.parse(readFileSync(new URL('docs/grafana/hookline.json', root), 'utf8')) as {
  panels: { type: string; title: string }[];
};

/**
 * Series other exporters provide, named in the rules on purpose: Prometheus's own `up`, and
 * redis_exporter's (group hookline-redis). Exact names, so a typo is still caught.
 */
const EXTERNAL = new Set([
  'up',
  'redis_memory_used_bytes',
  'redis_memory_max_bytes',
  'redis_aof_last_bgrewrite_status',
  'redis_rdb_last_bgsave_status',
]);

describe('alert rules', () => {
  it('pass promtool check rules', async () => {
    const { stdout } = await promisify(execFile)('promtool', ['check', 'rules', rulesPath]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });
});

describe('dashboard', () => {
  it('has the four rows of docs/operations.md', () => {
    expect(dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual([
      'Intake',
      'Delivery',
      'Latency',
      'Backlog and health',
    ]);
  });
});

describe('metric names read by the dashboard and the rules', () => {
  let h: Harness;
  let rx: Receiver;
  let ts: TokenServer;
  const schema = randomSchema();
  let exported: Set<string>;

  beforeAll(async () => {
    rx = await startReceiver();
    ts = await startTokenServer();
    h = await startHarness({ DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema });
    const tenant = `t_${Math.random().toString(36).slice(2)}`;
    let n = 0;
    rx.respond(() => (++n === 1 ? { status: 500 } : { status: 200 }));
    const sub = await h.request({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${tenant}`,
      body: { webhookUrl: `${rx.url}/m`, events: ['*'], authType: 'oauth2', oauth2: oauth2Settings(ts) },
    });
    expect(sub.status, sub.raw).toBe(201);
    const pub = await h.request({
      method: 'POST',
      url: '/v1/events',
      body: { tenantId: tenant, type: 'message.delivered', channel: 'sms', messageId: 'm-1' },
    });
    expect(pub.status, pub.raw).toBe(202);
    await rx.waitFor(2);
    const text = await h.until(async () => {
      const res = await h.request({ method: 'GET', url: '/metrics' });
      return res.raw.includes('hookline_delivery_latency_seconds_count 1') ? res.raw : undefined;
    });
    exported = exportedNames(text);
  });
  afterAll(async () => {
    await h?.close();
    await dropSchema(schema);
    await rx?.close();
    await ts?.close();
  });

  it('finds names in PromQL (and would flag one the app lacks)', () => {
    expect(metricNames('sum by (le) (rate(hookline_nope_seconds_bucket{a="b"}[5m])) > 1e3')).toEqual([
      'hookline_nope_seconds_bucket',
    ]);
    expect(exported.has('hookline_nope_seconds_bucket')).toBe(false);
  });

  it('are all exported by Hookline', () => {
    const used = (exprs: string[]) => [...new Set(exprs.flatMap(metricNames))].sort();
    const fromDashboard = used(dashboardExprs(dashboard));
    const fromRules = used(ruleExprs(rules));
    expect(fromDashboard.length).toBeGreaterThan(10);
    expect(fromRules.length).toBeGreaterThan(10);
    const missing = [...fromDashboard, ...fromRules].filter((n) => !exported.has(n) && !EXTERNAL.has(n));
    expect(missing).toEqual([]);
    // The dashboard reads Hookline's own metrics only.
    expect(fromDashboard.filter((n) => EXTERNAL.has(n))).toEqual([]);
  });
});
