// An OAuth2 token endpoint that answers an access_token with CR/LF (finding 1: header values are
// validated where they enter): the attempt fails as oauth_token_error, the token is neither
// cached nor sent, and nothing reaches the subscriber. Real token endpoint, real receiver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { oauth2Settings, startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { allDeliveries, makeEvents, publish, subscribe } from '../resilience/support.js';
import { uniqueTenant } from './support.js';

let h: Harness;
let rx: Receiver;
let ts: TokenServer;

beforeAll(async () => {
  h = await startHarness();
  rx = await startReceiver();
  ts = await startTokenServer({ mode: 'crlf_token' });
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
  await ts?.close();
});

describe('OAuth2 token responses', () => {
  it('an access_token with CR/LF is an oauth_token_error: never cached, never sent', async () => {
    const tenant = uniqueTenant('crlf');
    const sub = await subscribe(h, tenant, `${rx.url}/oauth`, {
      authType: 'oauth2',
      oauth2: oauth2Settings(ts),
      maxRetries: 0,
    });

    const t = await h.request<{ ok: boolean; error?: { code: string; message: string } }>({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}/test?tenantId=${tenant}`,
      body: {},
    });
    expect(t.body.ok, t.raw).toBe(false);
    expect(t.body.error?.code, t.raw).toBe('oauth_token_error');
    expect(t.body.error?.message).toMatch(/access_token/);

    await publish(h, makeEvents(tenant, 1));
    const [record] = await h.until(async () => {
      const all = await allDeliveries(h, sub.id);
      return all.length === 1 && all[0]!.status === 'failed' && all;
    });
    expect(record!.attempts.map((a) => a.error?.code)).toEqual(['oauth_token_error']);

    // Each attempt asked the endpoint again: the bad token was not cached anywhere.
    expect(ts.count).toBe(2);
    expect(await h.hookline.ctx.redis.get(h.hookline.ctx.keys.oauthToken(sub.id))).toBeNull();
    expect(rx.requests).toHaveLength(0);
    for (const token of ts.issued) {
      expect(t.raw).not.toContain(token.slice(0, 20));
      expect(JSON.stringify(record)).not.toContain(token.slice(0, 20));
    }

    // Once the endpoint issues sendable tokens, deliveries go through with one.
    ts.config.mode = 'ok';
    const ok = await h.request<{ ok: boolean }>({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}/test?tenantId=${tenant}`,
      body: {},
    });
    expect(ok.body.ok, ok.raw).toBe(true);
    const [received] = await rx.waitFor(1);
    expect(received!.headers.authorization).toBe(`Bearer ${ts.issued.at(-1)}`);
    expect(received!.headers['x-injected']).toBeUndefined();
  });
});
