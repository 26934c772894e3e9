// A real OAuth2 token endpoint on loopback for tests: client_credentials and refresh_token grants,
// both client authentication methods (RFC 6749 §2.3.1), request records, and switchable failures.
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Subscription } from '../../src/domain/subscription.js';

export type TokenServerMode =
  | 'ok'
  | 'invalid_grant' // 400 invalid_grant whose description echoes the refresh token
  | 'server_error' // 500 with an HTML body
  | 'garbage' // 200 with a body that is not JSON
  | 'no_access_token' // 200 JSON without access_token
  | 'crlf_token' // 200 with an access_token carrying CR/LF and a second header line
  | 'hang'; // never answers

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

export interface TokenServerConfig {
  clientId: string;
  clientSecret: string;
  /** How the client must authenticate; the other one (or both at once) is refused. */
  authMethod: ClientAuthMethod;
  /** Path (without query) that serves tokens. */
  path: string;
  /** expires_in of issued tokens, or null to leave it out. */
  expiresIn: number | null;
  /** Issue a new refresh token on each refresh and revoke the presented one. */
  rotateRefreshTokens: boolean;
  /** When set, requests with another scope / audience get 400 invalid_scope / invalid_request. */
  expectScope?: string;
  expectAudience?: string;
  /** Wait this long before answering. */
  delayMs: number;
  mode: TokenServerMode;
}

export interface TokenRequestRecord {
  /** Path and query as received. */
  url: string;
  grantType: string | null;
  scope: string | null;
  audience: string | null;
  refreshToken: string | null;
  clientAuth: 'basic' | 'post' | 'both' | 'none';
}

export class TokenServer extends EventEmitter {
  readonly requests: TokenRequestRecord[] = [];
  /** Access tokens issued, in order. */
  readonly issued: string[] = [];
  /** The refresh token currently accepted. */
  refreshToken: string;
  readonly config: TokenServerConfig;
  private readonly server: Server;
  private readonly closing = new AbortController();

  constructor(config: TokenServerConfig, refreshToken: string) {
    super();
    this.config = config;
    this.refreshToken = refreshToken;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent && !this.closing.signal.aborted)
          json(res, 500, { error: 'server_error', error_description: String(err) });
      });
    });
  }

  get count(): number {
    return this.requests.length;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The token URL (the configured path on this server). */
  get url(): string {
    return `${this.origin}${this.config.path}`;
  }

  async listen(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  /** Resolves once at least n token requests have arrived. */
  async waitForRequests(n: number): Promise<void> {
    while (this.count < n) await once(this, 'request');
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    // Split by hand: `new URL('//token', base)` would read `token` as a host.
    const pathname = (req.url ?? '/').split('?')[0];
    if (req.method !== 'POST' || pathname !== this.config.path) return json(res, 404, { error: 'not_found' });
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));

    const basic = parseBasic(req.headers.authorization);
    const inBody = form.has('client_id') || form.has('client_secret');
    const record: TokenRequestRecord = {
      url: req.url ?? '',
      grantType: form.get('grant_type'),
      scope: form.get('scope'),
      audience: form.get('audience'),
      refreshToken: form.get('refresh_token'),
      clientAuth: basic && inBody ? 'both' : basic ? 'basic' : inBody ? 'post' : 'none',
    };
    this.requests.push(record);
    this.emit('request', record);

    const { config } = this;
    if (config.delayMs > 0) await sleep(config.delayMs, undefined, { signal: this.closing.signal });
    if (config.mode === 'hang') return; // the socket stays open until close()
    if (config.mode === 'server_error') {
      res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>Internal Server Error</h1>');
      return;
    }
    if (config.mode === 'garbage') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>definitely not a token</html>');
      return;
    }

    const expected = config.authMethod === 'client_secret_basic' ? 'basic' : 'post';
    const id = expected === 'basic' ? basic?.id : form.get('client_id');
    const secret = expected === 'basic' ? basic?.secret : form.get('client_secret');
    if (record.clientAuth !== expected || id !== config.clientId || secret !== config.clientSecret) {
      return json(res, 401, {
        error: 'invalid_client',
        error_description: `client authentication failed (${config.authMethod} required)`,
      });
    }
    if (config.expectScope !== undefined && record.scope !== config.expectScope) {
      return json(res, 400, {
        error: 'invalid_scope',
        error_description: `unexpected scope ${record.scope}`,
      });
    }
    if (config.expectAudience !== undefined && record.audience !== config.expectAudience) {
      return json(res, 400, {
        error: 'invalid_request',
        error_description: `unexpected audience ${record.audience}`,
      });
    }

    let refreshToken: string | undefined;
    if (record.grantType === 'refresh_token') {
      if (config.mode === 'invalid_grant' || record.refreshToken !== this.refreshToken) {
        return json(res, 400, {
          error: 'invalid_grant',
          error_description: `refresh token ${record.refreshToken ?? ''} is invalid, expired or revoked`,
        });
      }
      if (config.rotateRefreshTokens)
        this.refreshToken = refreshToken = `rt-${randomBytes(12).toString('hex')}`;
    } else if (record.grantType === 'client_credentials') {
      if (config.mode === 'invalid_grant')
        return json(res, 400, { error: 'invalid_grant', error_description: 'client is disabled' });
    } else {
      return json(res, 400, { error: 'unsupported_grant_type' });
    }

    if (config.mode === 'no_access_token') return json(res, 200, { token_type: 'Bearer' });
    const accessToken =
      `at-${this.issued.length + 1}-${randomBytes(12).toString('hex')}` +
      (config.mode === 'crlf_token' ? '\r\nX-Injected: yes' : '');
    this.issued.push(accessToken);
    json(res, 200, {
      access_token: accessToken,
      token_type: 'Bearer',
      ...(config.expiresIn === null ? {} : { expires_in: config.expiresIn }),
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    });
  }
}

export async function startTokenServer(
  config: Partial<TokenServerConfig> = {},
  initialRefreshToken = `rt-${randomBytes(12).toString('hex')}`,
): Promise<TokenServer> {
  const full: TokenServerConfig = {
    clientId: 'hookline-client',
    clientSecret: `cs-${randomBytes(16).toString('hex')}`,
    authMethod: 'client_secret_basic',
    path: '/token',
    expiresIn: 3600,
    rotateRefreshTokens: false,
    delayMs: 0,
    mode: 'ok',
    ...config,
  };
  return new TokenServer(full, initialRefreshToken).listen();
}

export type OAuth2Settings = NonNullable<Subscription['oauth2']>;

/** A subscription's `oauth2` settings that get tokens from `server` (client_credentials unless `over` says otherwise). */
export function oauth2Settings(server: TokenServer, over: Partial<OAuth2Settings> = {}): OAuth2Settings {
  return {
    grantType: 'client_credentials',
    tokenUrl: server.url,
    clientId: server.config.clientId,
    clientSecret: server.config.clientSecret,
    ...over,
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    .end(JSON.stringify(body));
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
function parseBasic(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
  return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}
