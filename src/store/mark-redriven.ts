// Linking a delivery record to the one that re-drives it (HSETNX while the record is in Redis):
// the fan-out's re-drive queues it beside the new record, the Redis history store runs it alone.
import { luaScript } from '../redis/scripts.js';

/** 1 linked, 0 linked already (to this or another), -1 no record here. */
export const MARK_REDRIVEN = luaScript<[rec: string], [successor: string], 1 | 0 | -1>('mark-redriven');
