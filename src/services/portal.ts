// Workflows only the subscriber portal needs beyond the public API's services: testing a webhook
// as its form stands before it is saved, and showing what an attempt sends. Both apply the same
// rules as a save (schema checked by the route, then checkSubscription: URL policy, SSRF guard).
import { attempt, buildRequest, type AttemptOutcome, type OutboundRequest } from '../delivery/attempt.js';
import type { TokenProvider } from '../delivery/auth/index.js';
import type { HooklineEvent } from '../domain/event.js';
import { sampleEvent } from '../domain/sample-event.js';
import type { Subscription, SubscriptionInput } from '../domain/subscription.js';
import type { Context } from '../pipeline/context.js';
import { unmaskSecrets } from './masked-echo.js';
import { checkSubscription } from './subscription-rules.js';

/** Stands in for the access token an OAuth2 attempt fetches (masked when shown): a preview fetches none. */
const NO_TOKEN_FETCH: TokenProvider = {
  getToken: async () => '-',
  invalidate: async () => {},
};

export type PortalDeps = Pick<Context, 'config' | 'urlGuard' | 'subscriptionStore' | 'agent' | 'tokens'>;

export function createPortalService(ctx: PortalDeps) {
  const store = ctx.subscriptionStore;
  return {
    /**
     * Sends one sample event to the webhook as `input` describes it, nothing saved. With
     * `currentId` (an edit) masked secrets sent back stand for the stored ones and the request is
     * signed with the webhook's own signing secret, as its deliveries are.
     */
    async testDraft(
      tenantId: string,
      input: SubscriptionInput,
      currentId?: string,
    ): Promise<{ subscription: Subscription; event: HooklineEvent; outcome: AttemptOutcome }> {
      let body = input;
      let current: Subscription | undefined;
      if (currentId) {
        current = await store.getVisible(currentId, tenantId);
        body = unmaskSecrets(input, current);
      }
      await checkSubscription(ctx, body, current ? { current, sent: input } : undefined);
      const built = store.build(tenantId, body);
      const sub = current ? { ...built, signingSecrets: current.signingSecrets } : built;
      const event = sampleEvent(sub);
      const outcome = await attempt({ agent: ctx.agent, tokens: ctx.tokens }, sub, event);
      return { subscription: sub, event, outcome };
    },

    /**
     * The request a delivery of `event` sends with the webhook's current settings, every header
     * included (the caller masks the credentials). No OAuth2 token is fetched for it, and the
     * signature is left out: each attempt signs with its own timestamp.
     */
    async requestPreview(sub: Subscription, event: HooklineEvent): Promise<OutboundRequest> {
      const req = await buildRequest(sub, event, { tokens: NO_TOKEN_FETCH });
      const headers = { ...req.headers };
      if (headers['webhook-signature']) {
        headers['webhook-timestamp'] = '(the time of each attempt)';
        headers['webhook-signature'] = 'v1,… (signed at each attempt)';
      }
      return { ...req, headers };
    },
  };
}

export type PortalService = ReturnType<typeof createPortalService>;
