// One token request through simple-oauth2, built from a subscription's oauth2 settings and
// turned into either a plain token response or an OAuthTokenError free of secrets.
import type { LookupFunction } from 'node:net';
import { DeliveryError } from '../errors.js';
import { isSsrfBlockedError } from '../ssrf/blocked-error.js';
import {
  ClientCredentials,
  type AccessToken,
  type ClientCredentialTokenConfig,
  type Token,
} from 'simple-oauth2';
import type { Subscription } from '../../domain/subscription.js';
import { safeUrl } from '../../logger.js';
import { OAuthTokenError } from './oauth2-error.js';

export type OAuth2Settings = NonNullable<Subscription['oauth2']>;

export interface TokenResponse {
  accessToken: string;
  /** Seconds, when the endpoint said. */
  expiresIn?: number;
  /** Present when the endpoint issued a (possibly rotated) refresh token. */
  refreshToken?: string;
}

export interface TokenRequestOptions {
  /** Bound on each phase (answer, then body) of the HTTP exchange; the caller bounds the whole. */
  timeoutMs: number;
  /** Refresh token to present; required for the refresh_token grant. */
  refreshToken?: string;
  /** DNS lookup for the token host (e.g. the SSRF guard's); default: the system resolver. */
  lookup?: LookupFunction;
}

/** Token responses are tiny; anything larger is not one. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_DESCRIPTION_CHARS = 200;

/**
 * simple-oauth2 resolves tokenPath against tokenHost with WHATWG rules; an absolute URL
 * resolves to itself, so query strings, escapes and odd paths (`//token`) reach the server as written.
 */
export function tokenEndpoint(tokenUrl: string): { tokenHost: string; tokenPath: string } {
  let url: URL;
  try {
    url = new URL(tokenUrl);
  } catch {
    throw new OAuthTokenError('oauth2 tokenUrl is not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new OAuthTokenError('oauth2 tokenUrl must be http(s)');
  if (url.username || url.password) throw new OAuthTokenError('oauth2 tokenUrl must not contain credentials');
  url.hash = '';
  return { tokenHost: url.origin, tokenPath: url.href };
}

export async function requestToken(
  settings: OAuth2Settings,
  opts: TokenRequestOptions,
): Promise<TokenResponse> {
  const endpoint = safeUrl(settings.tokenUrl);
  const secrets = [settings.clientSecret, opts.refreshToken ?? ''];
  const client = buildClient(settings, opts);

  const params: ClientCredentialTokenConfig = {};
  if (settings.scopes?.length) params.scope = settings.scopes; // joined with ' ' by simple-oauth2
  if (settings.audience) params.audience = settings.audience;
  const http = { timeout: opts.timeoutMs };

  let token: AccessToken;
  try {
    if (settings.grantType === 'refresh_token') {
      if (!opts.refreshToken) throw new OAuthTokenError('oauth2 refresh_token grant has no refresh token');
      token = await client.createToken({ refresh_token: opts.refreshToken }).refresh(params, http);
    } else {
      token = await client.getToken(params, http);
    }
  } catch (err) {
    // An address the SSRF guard refused is final: retrying cannot make it allowed.
    if (isSsrfBlockedError(err))
      throw new DeliveryError('ssrf_blocked', `token endpoint ${endpoint} is not an allowed destination`);
    throw describeFailure(err, endpoint, opts.timeoutMs, secrets);
  }
  return parseTokenResponse(token.token, endpoint);
}

function buildClient(settings: OAuth2Settings, opts: TokenRequestOptions): ClientCredentials {
  const { tokenHost, tokenPath } = tokenEndpoint(settings.tokenUrl);
  // `json: 'force'` parses whatever comes back, so a mislabelled JSON answer still works and
  // anything else fails as "not JSON"; `lookup` is passed through to node:http by wreck.
  const http = {
    json: 'force' as const,
    maxBytes: MAX_RESPONSE_BYTES,
    redirects: false as const,
    lookup: opts.lookup,
  };
  try {
    return new ClientCredentials({
      client: { id: settings.clientId, secret: settings.clientSecret },
      auth: { tokenHost, tokenPath },
      http,
      options: { authorizationMethod: settings.authMethod === 'client_secret_post' ? 'body' : 'header' },
    });
  } catch (err) {
    // Joi's message quotes the offending value, which may be the secret: name the fields only.
    const details = (err as { details?: { path?: unknown[] }[] }).details ?? [];
    const fields = details.map((d) => (d.path ?? []).join('.')).filter(Boolean);
    throw new OAuthTokenError(`invalid oauth2 settings${fields.length ? ` (${fields.join(', ')})` : ''}`);
  }
}

function parseTokenResponse(body: Token, endpoint: string): TokenResponse {
  const accessToken = body.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw new OAuthTokenError(`token endpoint ${endpoint} answered without an access_token`);
  }
  const raw = body.expires_in;
  const seconds =
    typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  const refreshToken =
    typeof body.refresh_token === 'string' && body.refresh_token !== '' ? body.refresh_token : undefined;
  return {
    accessToken,
    ...(Number.isFinite(seconds) && seconds > 0 ? { expiresIn: seconds } : {}),
    ...(refreshToken ? { refreshToken } : {}),
  };
}

/** The parts of a wreck (Boom) error we read; everything else on it may hold secrets. */
interface WreckFailure {
  isBoom?: boolean;
  code?: unknown;
  output?: { statusCode?: number };
  data?: {
    isResponseError?: boolean;
    payload?: unknown;
    res?: { statusCode?: number };
    code?: unknown;
  } | null;
}

function describeFailure(
  err: unknown,
  endpoint: string,
  timeoutMs: number,
  secrets: string[],
): OAuthTokenError {
  if (err instanceof OAuthTokenError) return err;
  const e = (err ?? {}) as WreckFailure;
  const status = e.data?.res?.statusCode;
  if (e.data?.isResponseError && typeof status === 'number') {
    return new OAuthTokenError(`token endpoint answered ${status}${oauthErrorText(e.data.payload, secrets)}`);
  }
  if (typeof status === 'number') {
    // The answer came but its body did not: it timed out, was too large, or was not JSON.
    const why =
      e.output?.statusCode === 408
        ? `did not arrive within ${timeoutMs} ms`
        : e.output?.statusCode === 413
          ? 'was too large'
          : 'is not JSON';
    return new OAuthTokenError(`token endpoint answered ${status} but the body ${why}`);
  }
  if (e.isBoom && e.output?.statusCode === 504) {
    return new OAuthTokenError(`token endpoint ${endpoint} did not answer within ${timeoutMs} ms`);
  }
  const code =
    typeof e.data?.code === 'string' ? e.data.code : typeof e.code === 'string' ? e.code : undefined;
  if (e.isBoom || code)
    return new OAuthTokenError(`token endpoint ${endpoint} unreachable${code ? ` (${code})` : ''}`);
  // simple-oauth2 throws plain errors when the JSON is not a token object (null, a string, a number).
  return new OAuthTokenError(`token endpoint ${endpoint} answered a body that is not a token object`);
}

/** ` invalid_grant: <description>` from an RFC 6749 §5.2 error body, or nothing. */
function oauthErrorText(payload: unknown, secrets: string[]): string {
  if (!payload || typeof payload !== 'object') return '';
  const { error, error_description: description } = payload as Record<string, unknown>;
  if (typeof error !== 'string' || error === '') return '';
  const head = clean(error, 64, secrets);
  return typeof description === 'string' && description !== ''
    ? ` ${head}: ${clean(description, MAX_DESCRIPTION_CHARS, secrets)}`
    : ` ${head}`;
}

/** Single line, bounded, and with any secret we sent replaced (some servers echo them back). */
function clean(text: string, max: number, secrets: string[]): string {
  let out = text.replace(/\p{Cc}+/gu, ' ');
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out.length > max ? `${out.slice(0, max)}…` : out;
}
