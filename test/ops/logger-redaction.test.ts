// Secrets never reach the log: every path of REDACT_PATHS is censored on a real pino line, in
// the line's object, in child bindings and in what a serializer made of an Error; the caller's
// objects are left as they were, and a line without secrets is written as it came.
import { describe, expect, it } from 'vitest';
import { CENSOR, censorSecrets, REDACT_PATHS } from '../../src/logger.js';
import { capturedLogger } from '../helpers/log-lines.js';

const SECRET = 'sk_live_do_not_print_me';
type Line = Record<string, unknown>;

/** The object a path names, holding SECRET at its end: '*.x' under a key of its own. */
function objectFor(path: string): Line {
  const parts = path
    .replace(/\["([^"]+)"\]/g, '.$1')
    .split('.')
    .map((p) => (p === '*' ? 'anyKey' : p));
  const root: Line = {};
  let at = root;
  parts.forEach((p, i) => {
    if (i === parts.length - 1) at[p] = SECRET;
    else at = at[p] = {} as Line;
  });
  return root;
}

describe('log redaction', () => {
  it.each(REDACT_PATHS)('censors %s on a written line', (path) => {
    const { logger, lines } = capturedLogger();
    const obj = objectFor(path);
    const before = JSON.stringify(obj);
    logger.info({ ...obj, deliveryId: 'dlv_1' }, 'line');
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain(SECRET);
    expect(text).toContain(CENSOR);
    expect(lines[0]!.deliveryId).toBe('dlv_1');
    expect(JSON.stringify(obj)).toBe(before); // the caller's object is not changed
  });

  it('censors child bindings and leaves their other fields', () => {
    const { logger, lines } = capturedLogger();
    logger.child({ auth: { token: SECRET, kind: 'bearer' }, tenantId: 't1' }).info('line');
    expect(JSON.stringify(lines[0])).not.toContain(SECRET);
    expect(lines[0]).toMatchObject({ auth: { token: CENSOR, kind: 'bearer' }, tenantId: 't1' });
  });

  it('censors an own property of an Error and keeps what the err serializer makes of it', () => {
    const { logger, lines } = capturedLogger();
    const err = Object.assign(new TypeError('token refused'), { accessToken: SECRET, status: 401 });
    logger.warn({ err }, 'oauth2');
    const logged = lines[0]!.err as Line;
    expect(JSON.stringify(lines[0])).not.toContain(SECRET);
    expect(logged).toMatchObject({
      type: 'TypeError',
      message: 'token refused',
      accessToken: CENSOR,
      status: 401,
    });
    expect(String(logged.stack)).toContain('token refused');
    expect(err.accessToken).toBe(SECRET);
  });

  it('returns a line without secrets as it came, and copies only a line that has one', () => {
    const clean = { deliveryId: 'dlv_1', attempt: 2, sub: { id: 'sub_1', url: 'http://x' } };
    expect(censorSecrets(clean)).toBe(clean);
    const dirty = { deliveryId: 'dlv_1', sub: { id: 'sub_1', secret: SECRET }, other: { id: 'o' } };
    const out = censorSecrets(dirty);
    expect(out).not.toBe(dirty);
    expect(out).toEqual({ deliveryId: 'dlv_1', sub: { id: 'sub_1', secret: CENSOR }, other: { id: 'o' } });
    expect(out.other).toBe(dirty.other);
    expect(dirty.sub.secret).toBe(SECRET);
  });

  it('leaves keys two levels down that no path names', () => {
    const { logger, lines } = capturedLogger();
    logger.info({ a: { b: { id: 'keep' } }, token: undefined }, 'line');
    expect(lines[0]).toMatchObject({ a: { b: { id: 'keep' } } });
  });
});
