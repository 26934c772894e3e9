// Subscriber portal sessions (issue 19): a platform mints a one-time link code for one tenant;
// opening the link trades the code (atomically, GETDEL) for a browser session that carries the
// tenant, the minting caller's scopes and a CSRF token. Redis keeps only SHA-256 digests of codes
// and session ids, so a dump holds nothing usable.
import { createHash, randomBytes } from 'node:crypto';
import type { Context } from '../pipeline/context.js';

/** Bounds of a link's (and its session's) lifetime, in seconds. */
export const PORTAL_TTL = { default: 3600, min: 60, max: 86_400 } as const;

export interface PortalSession {
  tenantId: string;
  scopes: string[];
  /** Sent back in a hidden field or the x-csrf-token header by every state-changing request. */
  csrf: string;
  /** Epoch ms: the link's expiry, which bounds the session too. */
  expiresAt: number;
}

const digest = (s: string) => createHash('sha256').update(s).digest('base64url');
const token = () => randomBytes(32).toString('base64url');
/** A code or session id as `token` makes them; anything else is not looked up. */
const wellFormed = (s: string) => /^[A-Za-z0-9_-]{20,100}$/.test(s);

export function createPortalSessions(ctx: Pick<Context, 'redis' | 'keys'>) {
  const codeKey = (code: string) => `${ctx.keys.prefix}:portal:code:${digest(code)}`;
  const sessionKey = (id: string) => `${ctx.keys.prefix}:portal:sess:${digest(id)}`;

  return {
    /** A one-time code valid `ttlSeconds`; the session it starts ends at the same time. */
    async mint(
      tenantId: string,
      scopes: readonly string[],
      ttlSeconds: number,
      now = Date.now(),
    ): Promise<{ code: string; expiresAt: number }> {
      const code = token();
      const expiresAt = now + ttlSeconds * 1000;
      const grant = { tenantId, scopes: [...scopes], expiresAt };
      await ctx.redis.set(codeKey(code), JSON.stringify(grant), 'PX', ttlSeconds * 1000);
      return { code, expiresAt };
    },

    /** Consumes a code once; undefined when it is unknown, used or expired. */
    async exchange(
      code: string,
      now = Date.now(),
    ): Promise<{ id: string; session: PortalSession } | undefined> {
      if (!wellFormed(code)) return undefined;
      const raw = await ctx.redis.getdel(codeKey(code));
      if (!raw) return undefined;
      const grant = JSON.parse(raw) as Omit<PortalSession, 'csrf'>;
      const ttl = grant.expiresAt - now;
      if (ttl <= 0) return undefined;
      const id = token();
      const session: PortalSession = { ...grant, csrf: token() };
      await ctx.redis.set(sessionKey(id), JSON.stringify(session), 'PX', ttl);
      return { id, session };
    },

    async get(id: string, now = Date.now()): Promise<PortalSession | undefined> {
      if (!wellFormed(id)) return undefined;
      const raw = await ctx.redis.get(sessionKey(id));
      if (!raw) return undefined;
      const session = JSON.parse(raw) as PortalSession;
      return session.expiresAt > now ? session : undefined;
    },

    async end(id: string): Promise<void> {
      if (wellFormed(id)) await ctx.redis.del(sessionKey(id));
    },
  };
}

export type PortalSessions = ReturnType<typeof createPortalSessions>;
