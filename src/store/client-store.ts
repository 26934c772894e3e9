// API clients and their access tokens (SPEC §4). A client secret is kept only as a salted
// SHA-256 and compared in constant time; access tokens are opaque, kept under their hash with a TTL.
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { safeEqual } from '../crypto.js';
import { limitExceeded } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Keys } from '../redis/client.js';
import { luaScript } from '../redis/scripts.js';

/** Access tokens live one hour unless the store is built with another TTL. */
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export interface Client {
  id: string;
  name: string;
  /** Undefined for a platform client (internal producers acting for any tenant). */
  tenantId?: string;
  scopes: string[];
  createdAt: string;
}

interface StoredClient extends Client {
  /** `sha256:<salt>:<hex digest of salt + secret>` */
  secretHash: string;
}

export interface TokenGrant {
  clientId: string;
  tenantId?: string;
  scopes: string[];
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const hashSecret = (salt: string, secret: string) => `sha256:${salt}:${sha256(`${salt}${secret}`)}`;
// Compared against when the client id is unknown, so a miss costs the same as a wrong secret.
const DUMMY_HASH = hashSecret('0', 'no such client');

/** Saves a client unless its tenant is full: 1 saved, 0 full (src/redis/lua/client-create-capped.lua). */
const CREATE_CAPPED = luaScript<
  [clients: string, client: string],
  [id: string, cap: number, json: string],
  0 | 1
>('client-create-capped');

export interface ClientStoreOptions {
  tokenTtlSeconds?: number;
  /** Clients a tenant may have (MAX_CLIENTS_PER_TENANT); platform clients count as one tenant. Default: no cap. */
  maxPerTenant?: number;
}

export function createClientStore(redis: Redis, keys: Keys, opts: ClientStoreOptions = {}) {
  const ttl = opts.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  const maxPerTenant = opts.maxPerTenant ?? Number.MAX_SAFE_INTEGER;

  async function load(id: string): Promise<StoredClient | undefined> {
    const raw = await redis.get(keys.client(id));
    return raw ? (JSON.parse(raw) as StoredClient) : undefined;
  }

  return {
    tokenTtlSeconds: ttl,

    /** Creates a client; the plain secret is returned here and never again. 409 when the tenant is full. */
    async create(input: {
      name: string;
      tenantId?: string;
      scopes: string[];
    }): Promise<{ client: Client; secret: string }> {
      const secret = `hlcs_${randomBytes(32).toString('base64url')}`;
      const salt = randomBytes(16).toString('base64url');
      const client: Client = {
        id: newId('cli'),
        name: input.name,
        ...(input.tenantId ? { tenantId: input.tenantId } : {}),
        scopes: [...new Set(input.scopes)],
        createdAt: new Date().toISOString(),
      };
      const stored: StoredClient = { ...client, secretHash: hashSecret(salt, secret) };
      const saved = await CREATE_CAPPED.run(
        redis,
        [keys.tenantClients(client.tenantId), keys.client(client.id)],
        [client.id, maxPerTenant, JSON.stringify(stored)],
      );
      if (saved !== 1) {
        const whose = client.tenantId === undefined ? 'platform clients have' : 'this tenant has';
        throw limitExceeded(`${whose} reached the limit of ${maxPerTenant} API clients`, maxPerTenant);
      }
      return { client, secret };
    },

    /** The client when the id and secret match; undefined otherwise (same cost either way). */
    async authenticate(id: string, secret: string): Promise<Client | undefined> {
      const stored = await load(id);
      const expected = stored?.secretHash ?? DUMMY_HASH;
      const salt = expected.split(':')[1] ?? '';
      const ok = safeEqual(hashSecret(salt, secret), expected);
      if (!ok || !stored) return undefined;
      const { secretHash: _hash, ...client } = stored;
      return client;
    },

    async issueToken(grant: TokenGrant): Promise<IssuedToken> {
      const accessToken = `hlat_${randomBytes(32).toString('base64url')}`;
      await redis.set(keys.accessToken(sha256(accessToken)), JSON.stringify(grant), 'EX', ttl);
      return { accessToken, expiresIn: ttl };
    },

    /** What a bearer token grants, while it has not expired. */
    async resolveToken(accessToken: string): Promise<TokenGrant | undefined> {
      if (!accessToken.startsWith('hlat_')) return undefined;
      const raw = await redis.get(keys.accessToken(sha256(accessToken)));
      return raw ? (JSON.parse(raw) as TokenGrant) : undefined;
    },
  };
}

export type ClientStore = ReturnType<typeof createClientStore>;
