// Which Redis errors mean "unreachable for now" (the API's 503) rather than a bug (500):
// src/redis/unavailable.ts, one case per kind it knows.
import { describe, expect, it } from 'vitest';
import { isRedisUnavailable } from '../../../src/redis/unavailable.js';

const coded = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:6379`), { code });
const named = (name: string) => Object.assign(new Error('gave up'), { name });

describe('isRedisUnavailable', () => {
  it.each([
    ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'].map(coded),
    named('MaxRetriesPerRequestError'),
    named('ClusterAllFailedError'),
    ...['READONLY', 'MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN', 'LOADING', 'NOREPLICAS'].map(
      (reply) => new Error(`${reply} not now`),
    ),
    new Error('Connection is closed.'),
    new Error('All sentinels are unreachable. Retrying from scratch after 10ms.'),
    new Error("Stream isn't writeable and enableOfflineQueue options is false"),
  ])('is true for %s', (err) => {
    expect(isRedisUnavailable(err)).toBe(true);
  });

  it.each([
    new Error('ERR wrong number of arguments'),
    new Error('WRONGTYPE Operation against a key holding the wrong kind of value'),
    new Error('NOSCRIPT No matching script'),
    coded('ENOENT'),
    new Error('a READONLY in the middle'),
    'ECONNREFUSED',
    undefined,
  ])('is false for %s', (err) => {
    expect(isRedisUnavailable(err)).toBe(false);
  });
});
