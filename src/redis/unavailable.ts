// Tells a Redis that cannot be reached (down, failing over, no master yet) from a bug, so the API
// answers 503 "retry" rather than 500 while Sentinel or the Cluster elects a new master.
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH']);
// Replies of a node that is no master right now, or of a cluster between masters.
const NO_MASTER_REPLY = /^(READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|LOADING|NOREPLICAS) /;

export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    err.name === 'ClusterAllFailedError' ||
    (typeof code === 'string' && CONNECTION_CODES.has(code)) ||
    NO_MASTER_REPLY.test(err.message) ||
    /^(Connection is closed|All sentinels are unreachable|Stream isn't writeable)/.test(err.message)
  );
}
