// Subscriptions in Redis: one JSON value per subscription (secrets encrypted), a per-tenant
// index for listing and fan-out, and a uniqueness key per (tenant, subProduct, URL).
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isSealed, isUnreadable, newSigningSecret, secretContext, type SecretBox } from '../crypto.js';
import { conflict, limitExceeded, notFound, validationError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { withDefaults, type Subscription, type SubscriptionInput } from '../domain/subscription.js';
import type { Keys } from '../redis/client.js';
import { luaScript } from '../redis/scripts.js';
import { execAll } from '../redis/exec-all.js';

export interface ListOptions {
  tenantId?: string;
  limit: number;
  cursor?: string;
  includeDeleted?: boolean;
  filter?: (s: Subscription) => boolean;
}

const urlHash = (url: string) => createHash('sha256').update(url).digest('base64url').slice(0, 32);

/**
 * Applies `fn` to every secret field of a subscription (encrypt for storage, decrypt on load),
 * with the field's path (`/bearer/token`), which binds its ciphertext to the field.
 */
export function mapSecrets(sub: Subscription, fn: (s: string, path: string) => string): Subscription {
  const out: Subscription = {
    ...sub,
    signingSecrets: sub.signingSecrets.map((s, i) => ({
      ...s,
      secret: fn(s.secret, `/signingSecrets/${i}/secret`),
    })),
  };
  if (sub.secret) out.secret = { ...sub.secret, value: fn(sub.secret.value, '/secret/value') };
  if (sub.bearer) out.bearer = { token: fn(sub.bearer.token, '/bearer/token') };
  if (sub.basic) out.basic = { ...sub.basic, password: fn(sub.basic.password, '/basic/password') };
  if (sub.oauth2) {
    out.oauth2 = { ...sub.oauth2, clientSecret: fn(sub.oauth2.clientSecret, '/oauth2/clientSecret') };
    if (sub.oauth2.refreshToken)
      out.oauth2.refreshToken = fn(sub.oauth2.refreshToken, '/oauth2/refreshToken');
  }
  if (sub.customHeaders)
    out.customHeaders = Object.fromEntries(
      Object.entries(sub.customHeaders).map(([k, v]) => [k, fn(v, `/customHeaders/${k}`)]),
    );
  return out;
}

/** The additional data of a subscription secret's ciphertext: its tenant, subscription and field. */
const fieldContext = (sub: Pick<Subscription, 'tenantId' | 'id'>, path: string) =>
  secretContext('sub', sub.tenantId, sub.id, path);

const AUTH_FIELDS = ['authType', 'secret', 'bearer', 'basic', 'oauth2'] as const;

/**
 * Takes a slot of the tenant's cap for a subscription, atomically: 1 when it holds one (already
 * or now), 0 when the tenant is full, -1 when the tenant's live set must first be built from its
 * stored records (a tenant from before the cap existed): then called again with them.
 */
const CLAIM_SLOT = luaScript<
  [live: string, index: string, ...records: string[]],
  [id: string, cap: number, ...indexIds: string[]],
  -1 | 0 | 1
>('subscription-claim-slot');
const RELEASE_URL = luaScript<[url: string], [holder: string], number>('compare-and-delete');
/** Tries at building a tenant's live set while its index keeps changing under it. */
const BUILD_TRIES = 5;

export interface SubscriptionStoreOptions {
  /** Live subscriptions a tenant may have (MAX_SUBSCRIPTIONS_PER_TENANT). Default: no cap. */
  maxPerTenant?: number;
}

export function createSubscriptionStore(
  redis: Redis,
  keys: Keys,
  box: SecretBox,
  opts: SubscriptionStoreOptions = {},
) {
  const maxPerTenant = opts.maxPerTenant ?? Number.MAX_SAFE_INTEGER;
  // A secret that cannot be decrypted is read as unreadable (never sent, shown as such) and
  // written back as it was stored; it fails the subscription's deliveries with secret_unreadable.
  const encode = (sub: Subscription) => {
    const { unreadableSecrets: _, ...stored } = sub;
    return JSON.stringify(mapSecrets(stored, (v, path) => box.seal(v, fieldContext(sub, path))));
  };
  const decode = (raw: string) => {
    const stored = JSON.parse(raw) as Subscription;
    const unreadable: string[] = [];
    const sub = mapSecrets(stored, (v, path) => {
      // Records saved before 0.4 hold customHeaders values in plain text: read as they are,
      // sealed by the next save.
      if (path.startsWith('/customHeaders/') && !isSealed(v)) return v;
      const plain = box.open(v, fieldContext(stored, path));
      if (isUnreadable(plain)) unreadable.push(path);
      return plain;
    });
    if (unreadable.length > 0) sub.unreadableSecrets = unreadable;
    return sub;
  };
  const uniqueKey = (s: Pick<Subscription, 'tenantId' | 'subProduct' | 'webhookUrl'>) =>
    keys.subUrl(s.tenantId, s.subProduct ?? '-', urlHash(s.webhookUrl));

  async function notify(sub: Pick<Subscription, 'tenantId' | 'id'>): Promise<void> {
    await redis.publish(keys.subChanges(), `${sub.tenantId} ${sub.id}`);
  }

  async function claimUrl(sub: Subscription): Promise<void> {
    const ok = await redis.set(uniqueKey(sub), sub.id, 'NX');
    if (ok !== 'OK') {
      const holder = await redis.get(uniqueKey(sub));
      if (holder !== sub.id) {
        throw conflict('a subscription with this webhookUrl already exists for this tenant and subProduct', [
          { path: '/webhookUrl', message: 'is already registered' },
        ]);
      }
    }
  }

  async function releaseUrl(sub: Subscription): Promise<void> {
    // Compare-and-delete: only the holder releases the URL.
    await RELEASE_URL.run(redis, [uniqueKey(sub)], [sub.id]);
  }

  /** 409 limit_exceeded when the tenant already has its most live subscriptions. */
  async function claimSlot(sub: Subscription): Promise<void> {
    const live = keys.tenantLiveSubs(sub.tenantId);
    const index = keys.tenantSubs(sub.tenantId);
    let ok = await CLAIM_SLOT.run(redis, [live, index], [sub.id, maxPerTenant]);
    for (let i = 0; ok === -1; i++) {
      if (i === BUILD_TRIES) throw new Error(`tenant ${sub.tenantId}: its subscription index kept changing`);
      const ids = await redis.zrange(index, '0', '-1');
      ok = await CLAIM_SLOT.run(
        redis,
        [live, index, ...ids.map((id) => keys.sub(id))],
        [sub.id, maxPerTenant, ...ids],
      );
    }
    if (ok !== 1)
      throw limitExceeded(
        `this tenant has reached its limit of ${maxPerTenant} subscriptions; delete one first`,
        maxPerTenant,
      );
  }

  async function releaseSlot(sub: Subscription): Promise<void> {
    await redis.srem(keys.tenantLiveSubs(sub.tenantId), sub.id);
  }

  /** Runs `fn` holding the subscription's slot and URL; gives both back when it fails. */
  async function holdingSlotAndUrl(sub: Subscription, fn: () => Promise<void>): Promise<void> {
    await claimSlot(sub);
    try {
      await claimUrl(sub);
    } catch (err) {
      await releaseSlot(sub);
      throw err;
    }
    try {
      await fn();
    } catch (err) {
      await releaseUrl(sub);
      await releaseSlot(sub);
      throw err;
    }
  }

  async function save(sub: Subscription): Promise<void> {
    await redis.set(keys.sub(sub.id), encode(sub));
    await notify(sub);
  }

  const store = {
    /** A new subscription, not saved yet (`?verify=true` tests it before it exists). */
    build(tenantId: string, input: SubscriptionInput): Subscription {
      const now = new Date().toISOString();
      const sub: Subscription = {
        ...(withDefaults(input) as Omit<Subscription, 'id'>),
        id: newId('sub'),
        tenantId,
        status: 'active',
        signingSecrets: [{ secret: newSigningSecret() }],
        createdAt: now,
        updatedAt: now,
        authVersion: 1,
      };
      stripUndefined(sub);
      return sub;
    },

    async create(tenantId: string, input: SubscriptionInput): Promise<Subscription> {
      return store.insert(store.build(tenantId, input));
    },

    /**
     * Saves a built subscription; 409 `conflict` when its URL is taken for its tenant and
     * subProduct, 409 `limit_exceeded` when the tenant is at its cap.
     */
    async insert(sub: Subscription): Promise<Subscription> {
      const { tenantId, createdAt: now } = sub;
      await holdingSlotAndUrl(sub, async () => {
        const score = Date.parse(now);
        await execAll(
          redis
            .multi()
            .set(keys.sub(sub.id), encode(sub))
            .zadd(keys.tenantSubs(tenantId), score, sub.id)
            .zadd(keys.allSubs(), score, sub.id),
        );
      });
      await notify(sub);
      return sub;
    },

    /** Any subscription by id, deleted ones included. */
    async get(id: string): Promise<Subscription | undefined> {
      const raw = await redis.get(keys.sub(id));
      return raw ? decode(raw) : undefined;
    },

    /** A live subscription visible to `tenantId` (undefined = admin, any tenant); else 404. */
    async getVisible(id: string, tenantId?: string): Promise<Subscription> {
      const sub = await store.get(id);
      if (!sub || sub.deletedAt || (tenantId !== undefined && sub.tenantId !== tenantId))
        throw notFound('subscription');
      return sub;
    },

    async getMany(ids: string[]): Promise<Subscription[]> {
      if (ids.length === 0) return [];
      const raws = await redis.mget(ids.map((id) => keys.sub(id)));
      return raws.filter((r): r is string => r !== null).map(decode);
    },

    /** Every live subscription of a tenant (the fan-out cache loads this). */
    async listTenant(tenantId: string): Promise<Subscription[]> {
      const ids = await redis.zrange(keys.tenantSubs(tenantId), '0', '-1');
      return (await store.getMany(ids)).filter((s) => !s.deletedAt);
    },

    /** Cursor pagination in creation order; the cursor is opaque to clients. */
    async list(opts: ListOptions): Promise<{ data: Subscription[]; nextCursor: string | null }> {
      const key = opts.tenantId ? keys.tenantSubs(opts.tenantId) : keys.allSubs();
      let start = opts.cursor ? decodeCursor(opts.cursor) : 0;
      const data: Subscription[] = [];
      const page = Math.max(opts.limit, 50);
      for (;;) {
        const ids = await redis.zrange(key, String(start), String(start + page - 1));
        if (ids.length === 0) return { data, nextCursor: null };
        const subs = await store.getMany(ids);
        for (let i = 0; i < subs.length; i++) {
          const s = subs[i]!;
          if (s.deletedAt && !opts.includeDeleted) continue;
          if (opts.filter && !opts.filter(s)) continue;
          data.push(s);
          if (data.length === opts.limit) {
            const next = start + ids.indexOf(s.id) + 1;
            const more = (await redis.zcard(key)) > next;
            return { data, nextCursor: more ? encodeCursor(next) : null };
          }
        }
        start += ids.length;
      }
    },

    /** Replaces writable fields (PUT/PATCH already merged by the caller). */
    async update(current: Subscription, input: SubscriptionInput): Promise<Subscription> {
      const { id, tenantId, subProduct, status, disabledReason, signingSecrets, createdAt, authVersion } =
        current;
      const next = {
        ...withDefaults(input),
        id,
        tenantId,
        subProduct,
        status,
        disabledReason,
        signingSecrets,
        createdAt,
        authVersion,
        updatedAt: new Date().toISOString(),
      } as Subscription;
      if (AUTH_FIELDS.some((f) => JSON.stringify(current[f]) !== JSON.stringify(next[f]))) {
        next.authVersion = current.authVersion + 1;
      }
      stripUndefined(next);
      if (next.webhookUrl !== current.webhookUrl) {
        await claimUrl(next);
        await save(next);
        await releaseUrl(current);
      } else {
        await save(next);
      }
      return next;
    },

    /** Saves non-writable state changes (status, secrets, refresh token). */
    async patchState(
      id: string,
      fn: (s: Subscription) => Subscription | undefined,
    ): Promise<Subscription | undefined> {
      const current = await store.get(id);
      if (!current) return undefined;
      const next = fn(structuredClone(current));
      if (!next) return current;
      next.updatedAt = new Date().toISOString();
      await save(next);
      return next;
    },

    /**
     * A new current signing secret; the previous one keeps signing beside it for `graceMs`
     * (0 drops it at once). Secrets already past their expiry are dropped.
     */
    async rotateSecret(id: string, graceMs: number): Promise<Subscription | undefined> {
      const now = Date.now();
      return store.patchState(id, (s) => {
        const kept = s.signingSecrets
          .map((old) =>
            old.expiresAt === undefined ? { secret: old.secret, expiresAt: now + graceMs } : old,
          )
          // One that cannot be decrypted cannot sign: rotating is how it is replaced.
          .filter((old) => (old.expiresAt ?? 0) > now && !isUnreadable(old.secret));
        return { ...s, signingSecrets: [{ secret: newSigningSecret() }, ...kept] };
      });
    },

    async softDelete(sub: Subscription): Promise<Subscription> {
      const next = { ...sub, deletedAt: new Date().toISOString(), updatedAt: new Date().toISOString() };
      await save(next);
      await releaseUrl(sub);
      await releaseSlot(sub);
      return next;
    },

    /**
     * Undoes a soft delete (a live one is returned as is); 409 `conflict` when its URL was taken
     * meanwhile, 409 `limit_exceeded` when the tenant is at its cap.
     */
    async restore(id: string, tenantId?: string): Promise<Subscription> {
      const sub = await store.get(id);
      if (!sub || (tenantId !== undefined && sub.tenantId !== tenantId)) throw notFound('subscription');
      if (!sub.deletedAt) return sub;
      const next: Subscription = { ...sub, updatedAt: new Date().toISOString() };
      delete next.deletedAt;
      await holdingSlotAndUrl(next, () => save(next));
      return next;
    },
  };
  return store;
}

export type SubscriptionStore = ReturnType<typeof createSubscriptionStore>;

function stripUndefined(o: object): void {
  for (const [k, v] of Object.entries(o)) if (v === undefined) delete (o as Record<string, unknown>)[k];
}

const encodeCursor = (n: number) => Buffer.from(`o:${n}`).toString('base64url');
function decodeCursor(c: string): number {
  const m = /^o:(\d{1,15})$/.exec(Buffer.from(c, 'base64url').toString());
  if (!m)
    throw validationError([{ path: '/querystring/cursor', message: 'is not a cursor this API returned' }]);
  return Number(m[1]);
}
