// Wall-clock milliseconds with sub-millisecond resolution, comparable across the bench's
// processes on one machine (each process anchors performance.now() to the same wall clock).
import { performance } from 'node:perf_hooks';

export const now = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
