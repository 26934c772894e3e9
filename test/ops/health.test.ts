// /healthz and /readyz: JSON, no auth; readiness follows Redis and, where they run, the workers.
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';

const open: Harness[] = [];
async function harness(...args: Parameters<typeof startHarness>) {
  const h = await startHarness(...args);
  open.push(h);
  return h;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

const probe = (h: Harness, url: string) => h.request({ method: 'GET', url, headers: { authorization: '' } });

describe('health', () => {
  it('/healthz answers while the process runs', async () => {
    const h = await harness();
    const res = await probe(h, '/healthz');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ status: 'ok', version: expect.any(String) });
  });

  it('/readyz checks Redis and the workers of a process that runs them', async () => {
    const h = await harness();
    const res = await probe(h, '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { redis: 'ok', workers: 'ok' } });
  });

  it('/readyz of an API-only process checks Redis only', async () => {
    const h = await harness({}, { workers: false });
    const res = await probe(h, '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { redis: 'ok' } });
  });

  it('/readyz answers 503 once the workers stopped', async () => {
    const h = await harness();
    await h.hookline.workers!.close();
    const res = await probe(h, '/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'not ready', checks: { redis: 'ok', workers: 'not running' } });
    expect((await probe(h, '/healthz')).status).toBe(200);
  });

  it('/readyz answers 503 when Redis does not answer', async () => {
    const h = await harness({}, { workers: false });
    h.hookline.ctx.redis.disconnect();
    const res = await probe(h, '/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'not ready', checks: { redis: 'unavailable' } });
  });
});
