// Where stored credentials may go (src/domain/subscription-credentials.ts): moving webhookUrl or
// oauth2.tokenUrl needs the credentials that would follow it in the same request. Pure, no I/O.
import { describe, expect, it } from 'vitest';
import { credentialsToResupply } from '../../src/domain/subscription-credentials.js';
import type { Subscription, SubscriptionInput } from '../../src/domain/subscription.js';

const OLD_URL = 'https://old.example.com/hook';
const NEW_URL = 'https://new.example.com/hook';
const TOKEN_URL = 'https://auth.example.com/token';
const oauth2 = (
  extra: Partial<NonNullable<Subscription['oauth2']>> = {},
): NonNullable<Subscription['oauth2']> => ({
  grantType: 'client_credentials',
  tokenUrl: TOKEN_URL,
  clientId: 'client',
  clientSecret: 'cs',
  ...extra,
});

const current = (extra: Partial<Subscription> = {}): Subscription =>
  ({
    id: 'sub_1',
    tenantId: 't',
    webhookUrl: OLD_URL,
    events: ['*'],
    authType: 'none',
    ...extra,
  }) as Subscription;
const next = (extra: Partial<SubscriptionInput> = {}): SubscriptionInput => ({
  webhookUrl: OLD_URL,
  events: ['*'],
  ...extra,
});
const needs = (moved: string, ...paths: string[]) =>
  paths.map((path) => ({
    path,
    message: `is required in the request when ${moved} changes (the stored value is not sent to a new address)`,
  }));

describe('credentialsToResupply', () => {
  it('asks for nothing when neither address moves', () => {
    expect(credentialsToResupply(current(), next())).toEqual([]);
    expect(
      credentialsToResupply(
        current({ authType: 'secret', secret: { headerName: 'X-Webhook-Secret', value: 's' } }),
        next({ authType: 'secret', secret: { value: 's' }, description: 'changed' }),
      ),
    ).toEqual([]);
    expect(
      credentialsToResupply(
        current({ authType: 'oauth2', oauth2: oauth2() }),
        next({ authType: 'oauth2', oauth2: oauth2({ clientId: 'other', scopes: ['a'] }) }),
      ),
    ).toEqual([]);
  });

  it('asks for each stored customHeaders value a new webhookUrl keeps (they are secrets)', () => {
    const errors = credentialsToResupply(
      current({ customHeaders: { 'X-A': '1', 'X-B': '2' } }),
      next({ webhookUrl: NEW_URL, customHeaders: { 'X-A': '1', 'X-C': '3' } }),
    );
    expect(errors.map((e) => e.path)).toEqual(['/customHeaders/X-A']);
    expect(errors[0]!.message).toMatch(/webhookUrl changes/);
    // The same URL: nothing to supply.
    expect(
      credentialsToResupply(
        current({ customHeaders: { 'X-A': '1' } }),
        next({ customHeaders: { 'X-A': '1' } }),
      ),
    ).toEqual([]);
  });

  it('asks for nothing when webhookUrl moves without auth or custom headers', () => {
    expect(credentialsToResupply(current(), next({ webhookUrl: NEW_URL, authType: 'none' }))).toEqual([]);
  });

  it.each([
    ['secret', '/secret/value'],
    ['bearer', '/bearer/token'],
    ['basic', '/basic/password'],
  ] as const)('asks for the %s credential when webhookUrl moves', (authType, path) => {
    expect(credentialsToResupply(current({ authType }), next({ webhookUrl: NEW_URL, authType }))).toEqual(
      needs('webhookUrl', path),
    );
  });

  it('asks for the OAuth2 client secret when webhookUrl moves, and the refresh token for that grant', () => {
    const sub = current({ authType: 'oauth2', oauth2: oauth2() });
    expect(
      credentialsToResupply(sub, next({ webhookUrl: NEW_URL, authType: 'oauth2', oauth2: oauth2() })),
    ).toEqual(needs('webhookUrl', '/oauth2/clientSecret'));
    expect(
      credentialsToResupply(
        sub,
        next({
          webhookUrl: NEW_URL,
          authType: 'oauth2',
          oauth2: oauth2({ grantType: 'refresh_token', refreshToken: 'r' }),
        }),
      ),
    ).toEqual(needs('webhookUrl', '/oauth2/clientSecret', '/oauth2/refreshToken'));
    // The webhookUrl is what moved, even when tokenUrl moves along with it.
    expect(
      credentialsToResupply(
        sub,
        next({
          webhookUrl: NEW_URL,
          authType: 'oauth2',
          oauth2: oauth2({ tokenUrl: 'https://other/token' }),
        }),
      ),
    ).toEqual(needs('webhookUrl', '/oauth2/clientSecret'));
    // Without oauth2 settings in the request (refused later by the rules), the secret is still asked for.
    expect(credentialsToResupply(sub, next({ webhookUrl: NEW_URL, authType: 'oauth2' }))).toEqual(
      needs('webhookUrl', '/oauth2/clientSecret'),
    );
  });

  it('goes by the new authType, not the stored one', () => {
    expect(
      credentialsToResupply(
        current({ authType: 'bearer', bearer: { token: 't' } }),
        next({ webhookUrl: NEW_URL, authType: 'basic' }),
      ),
    ).toEqual(needs('webhookUrl', '/basic/password'));
  });

  it('asks for the OAuth2 credentials when only tokenUrl moves', () => {
    const sub = current({ authType: 'oauth2', oauth2: oauth2() });
    const moved = 'https://evil.example.com/token';
    expect(
      credentialsToResupply(sub, next({ authType: 'oauth2', oauth2: oauth2({ tokenUrl: moved }) })),
    ).toEqual(needs('oauth2.tokenUrl', '/oauth2/clientSecret'));
    expect(
      credentialsToResupply(
        sub,
        next({
          authType: 'oauth2',
          oauth2: oauth2({ tokenUrl: moved, grantType: 'refresh_token', refreshToken: 'r' }),
        }),
      ),
    ).toEqual(needs('oauth2.tokenUrl', '/oauth2/clientSecret', '/oauth2/refreshToken'));
  });

  it('has no tokenUrl to compare when either side has no oauth2 settings', () => {
    expect(credentialsToResupply(current(), next({ authType: 'oauth2', oauth2: oauth2() }))).toEqual([]);
    expect(
      credentialsToResupply(current({ authType: 'oauth2', oauth2: oauth2() }), next({ authType: 'none' })),
    ).toEqual([]);
  });
});
