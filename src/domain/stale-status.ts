// Stale-status suppression (SPEC §8; seeds 000/001: "if a later status is received, it implies
// all preceding statuses have been fulfilled"). Per destination and message, the highest status
// delivered so far is kept as a level; a delivery whose status ranks below it is not sent.
//
// Precedence: sent < delivered < read. `failed` is final: it is never superseded, and once
// delivered it supersedes a pending `sent` (the one status that comes before it) but not a
// `delivered` (both are final: conflicting reports both reach the receiver). Other types
// (clicked, replies, templates, auth and operational events) neither supersede nor are superseded.
import { createHash } from 'node:crypto';
import { digest12 } from './digest.js';

const RANK: Partial<Record<string, number>> = { 'message.sent': 1, 'message.delivered': 2 };
const LEVEL: Partial<Record<string, number>> = {
  'message.delivered': 2,
  'message.read': 3,
  'message.failed': 2,
};

/** The rank of a status that a later one can supersede (sent, delivered); undefined otherwise. */
export const staleRank = (type: string): number | undefined => RANK[type];

/** What a succeeded delivery of this status supersedes: pending ones whose rank is lower. */
export const supersedeLevel = (type: string): number | undefined => LEVEL[type];

/** Whether an event's type takes part at all (saves every Redis access for the others). */
export const takesPart = (type: string): boolean => RANK[type] !== undefined || LEVEL[type] !== undefined;

/**
 * The field of an event's own deliveryReport destination in its message's mark: the destination
 * is its URL (every event of a message may name one), kept short as a digest. The tenant is part
 * of it, so a mark key shared by two tenants (`a:b` + `c` and `a` + `b:c`) never mixes them:
 * subscription fields are subscription ids, which belong to one tenant already.
 */
export const reportMarkField = (tenantId: string, webhookUrl: string): string =>
  `report:${createHash('sha256').update(`${tenantId}\n${webhookUrl}`).digest('base64url').slice(0, 16)}`;

/**
 * A mark's field in Redis: 12 bytes (96 bits) of SHA-256 over tenant, message and destination
 * (its markField). Two marks of one window colliding has a chance of about n²/2^97 (10^-13 for
 * 100 M marks); a collision could only supersede a status of the other message.
 */
export const markDigest = (tenantId: string, messageId: string, field: string): Buffer =>
  digest12(`${tenantId}\n${messageId}\n${field}`);

const PACKED_ID = /^dlv_[A-Za-z0-9_-]{24}$/;

/**
 * A mark's value: the level digit, then the delivery that reached it: a delivery id of
 * `deliveryId`'s shape as its 18 bytes (19 bytes in all), any other as `:` and the id.
 * src/redis/lua/lib/status-marks.lua reads it back.
 */
export function packMark(level: number, deliveryId: string): Buffer {
  const head = Buffer.from(String(level));
  return PACKED_ID.test(deliveryId)
    ? Buffer.concat([head, Buffer.from(deliveryId.slice(4), 'base64url')])
    : Buffer.from(`${level}:${deliveryId}`);
}
