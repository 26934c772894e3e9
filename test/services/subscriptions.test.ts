// The subscription workflows without the API: JSON Merge Patch (objects merge, null removes,
// the merged result is validated like a PUT body), and the cache and OAuth token invalidation
// that every write does itself. Real Redis, no routes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { compose, type Context } from '../../src/compose.js';
import type { HooklineError } from '../../src/domain/errors.js';
import type { SubscriptionInput } from '../../src/domain/subscription.js';
import { createLogger } from '../../src/logger.js';
import { createServices, type Services } from '../../src/services/index.js';
import { deleteKeys } from '../helpers/harness.js';

const config = testConfig();
let ctx: Context;
let services: Services;
const T = 'svc-subs';
let n = 0;

beforeAll(async () => {
  ctx = await compose(config, createLogger('silent'));
  services = createServices(ctx);
});
afterAll(async () => {
  await ctx?.close();
  await deleteKeys(config.REDIS_URL, config.REDIS_PREFIX);
});

async function created(input: Partial<SubscriptionInput> = {}) {
  const { subscription } = await services.subscriptions.create(T, {
    webhookUrl: `http://127.0.0.1:9/s/${++n}`,
    events: ['message.*'],
    ...input,
  });
  return subscription;
}

async function refusal(p: Promise<unknown>) {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as HooklineError | undefined;
  expect(err, 'it was accepted').toBeDefined();
  return { code: err!.code, errors: err!.errors };
}

describe('subscriptions.patch (JSON Merge Patch)', () => {
  it('merges objects, replaces arrays, removes what is null, keeps the rest', async () => {
    const sub = await created({
      description: 'before',
      channels: ['sms', 'whatsapp'],
      authType: 'secret',
      secret: { headerName: 'X-Old', value: 'the-shared-secret' },
      customParams: { a: '1', b: '2' },
    });
    const next = await services.subscriptions.patch(sub.id, T, {
      description: null,
      channels: ['email'],
      secret: { headerName: 'X-New' },
      customParams: { b: null, c: '3' },
    });
    expect(next.description).toBeUndefined();
    expect(next.channels).toEqual(['email']);
    expect(next.secret).toEqual({ headerName: 'X-New', value: 'the-shared-secret' });
    expect(next.customParams).toEqual({ a: '1', c: '3' });
    expect(next.events).toEqual(['message.*']);
    expect(next.webhookUrl).toBe(sub.webhookUrl);
    // Saved, not only answered.
    expect((await services.subscriptions.get(sub.id, T)).customParams).toEqual({ a: '1', c: '3' });
  });

  it('validates the merged result like a PUT body, with paths from its root', async () => {
    const sub = await created();
    // Switching to basic without a password leaves the merged subscription incomplete.
    expect(
      await refusal(services.subscriptions.patch(sub.id, T, { authType: 'basic', basic: { username: 'u' } })),
    ).toEqual({ code: 'validation_error', errors: [{ path: '/basic/password', message: 'is required' }] });
    // The rules beyond the schema too.
    expect(
      await refusal(
        services.subscriptions.patch(sub.id, T, { subProduct: 'conversational', events: ['message.sent'] }),
      ),
    ).toMatchObject({ code: 'validation_error', errors: [{ path: '/subProduct' }] });
    // Nothing was saved.
    expect((await services.subscriptions.get(sub.id, T)).authType).toBe(sub.authType);
  });

  it('switching authType drops the previous kind unless the patch names it', async () => {
    const sub = await created({ authType: 'bearer', bearer: { token: 'tok-123456' } });
    const next = await services.subscriptions.patch(sub.id, T, { authType: 'none' });
    expect(next.authType).toBe('none');
    expect(next.bearer).toBeUndefined();
  });

  it("answers 404 for another tenant's subscription", async () => {
    const sub = await created();
    expect(
      (await refusal(services.subscriptions.patch(sub.id, 'someone-else', { description: 'x' }))).code,
    ).toBe('not_found');
  });
});

describe('writes invalidate what they change', () => {
  // The service invalidates this process's copy itself; the store's pub/sub notice reaches the
  // others (and, usually first, this one too), so this shows the outcome more than the mechanism.
  it('the cached subscription shows each write at once', async () => {
    const sub = await created({ description: 'v1' });
    expect((await ctx.subscriptions.get(sub.id))?.description).toBe('v1');
    await services.subscriptions.patch(sub.id, T, { description: 'v2' });
    expect((await ctx.subscriptions.get(sub.id))?.description).toBe('v2');
    await services.subscriptionActions.pause(sub.id, T);
    expect((await ctx.subscriptions.get(sub.id))?.status).toBe('paused');
    await services.subscriptions.remove(sub.id, T);
    expect((await ctx.subscriptions.get(sub.id))?.deletedAt).toBeDefined();
  });

  it('drops the cached OAuth token when auth settings change or the subscription goes, not otherwise', async () => {
    const sub = await created({ authType: 'bearer', bearer: { token: 'tok-abcdef' } });
    const tokenKey = ctx.keys.oauthToken(sub.id);
    await ctx.redis.set(tokenKey, 'cached');
    await services.subscriptions.patch(sub.id, T, { description: 'not auth' });
    expect(await ctx.redis.exists(tokenKey)).toBe(1);
    await services.subscriptions.patch(sub.id, T, { bearer: { token: 'tok-ghijkl' } });
    expect(await ctx.redis.exists(tokenKey)).toBe(0);
    await ctx.redis.set(tokenKey, 'cached');
    await services.subscriptions.remove(sub.id, T);
    expect(await ctx.redis.exists(tokenKey)).toBe(0);
  });
});
