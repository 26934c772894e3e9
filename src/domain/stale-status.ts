// Stale-status suppression (SPEC §8; seeds 000/001: "if a later status is received, it implies
// all preceding statuses have been fulfilled"). Per destination and message, the highest status
// delivered so far is kept as a level; a delivery whose status ranks below it is not sent.
//
// Precedence: sent < delivered < read. `failed` is final: it is never superseded, and once
// delivered it supersedes a pending `sent` (the one status that comes before it) but not a
// `delivered` (both are final: conflicting reports both reach the receiver). Other types
// (clicked, replies, templates, auth and operational events) neither supersede nor are superseded.
import { createHash } from 'node:crypto';

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
