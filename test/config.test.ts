import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const strongToken = 'a8F3kL0pQ9zX7vB2nM4cR6tY1uI5oE8w';
const strongKey = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)).toString('base64');

describe('config', () => {
  it('applies the SPEC defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 3000,
      HOST: '0.0.0.0',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_PREFIX: '{hookline}',
      ROLE: 'all',
      ALLOW_HTTP_WEBHOOKS: false,
      ALLOWED_PRIVATE_CIDRS: [],
      RETRY_BASE_MS: 10_000,
      RETRY_MAX_DELAY_MS: 3_600_000,
      DELIVERY_LOG_TTL_DAYS: 7,
      BREAKER_FAILURES: 20,
      DISABLE_AFTER_HOURS: 24,
      LOG_LEVEL: 'info',
    });
    expect(c.disableAfterMs).toBe(24 * 3_600_000);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['ROLE', 'both'],
    ['REDIS_URL', 'http://x'],
    ['ALLOW_HTTP_WEBHOOKS', 'maybe'],
    ['ALLOWED_PRIVATE_CIDRS', '127.1/32'],
    ['ENCRYPTION_KEY', 'c2hvcnQ='],
    ['RETRY_BASE_MS', '-5'],
    ['LOG_LEVEL', 'loud'],
  ])('stops on a bad %s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      expect((err as Error).message).toContain(name);
    }
  });

  it('names every bad variable at once and never echoes secrets', () => {
    try {
      loadConfig({ PORT: 'x', ENCRYPTION_KEY: 'not-a-real-key-but-secret' });
      expect.unreachable();
    } catch (err) {
      const e = err as ConfigError;
      expect(e.problems).toHaveLength(2);
      expect(e.message).not.toContain('not-a-real-key-but-secret');
    }
  });

  it('refuses to start in production without strong ADMIN_TOKEN and ENCRYPTION_KEY', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      /ADMIN_TOKEN is required[\s\S]*ENCRYPTION_KEY is required/,
    );
    expect(() =>
      loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'short', ENCRYPTION_KEY: strongKey }),
    ).toThrow(/too weak/);
    expect(() =>
      loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'a'.repeat(40), ENCRYPTION_KEY: strongKey }),
    ).toThrow(/too weak/);
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        ADMIN_TOKEN: strongToken,
        ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      }),
    ).toThrow(/ENCRYPTION_KEY is too weak/);
    expect(
      loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: strongToken, ENCRYPTION_KEY: strongKey })
        .isProduction,
    ).toBe(true);
  });
});
