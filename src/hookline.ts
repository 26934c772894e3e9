// Assembles a running Hookline (API, workers or both) from a config. Used by src/main.ts and the
// integration tests, so they all run the same wiring: compose the service graph, then start.
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from './api/app.js';
import type { Config } from './config.js';
import { compose, type ComposeOptions, type Context } from './compose.js';
import { createLogger, safeUrl, type Logger } from './logger.js';
import { startWorkers, type RunningWorkers } from './pipeline/workers/index.js';
import { redisSettingWarnings } from './redis/client.js';
import { startTracing, type TracingHandle } from './telemetry/tracing.js';

export interface Hookline {
  ctx: Context;
  app?: FastifyInstance;
  workers?: RunningWorkers;
  /** Graceful: the API stops taking requests, workers finish in-flight jobs, connections close. */
  close(): Promise<void>;
}

export interface StartOptions extends ComposeOptions {
  logger?: Logger;
  /** Defaults to config.ROLE. */
  api?: boolean;
  workers?: boolean;
  app?: AppOptions;
}

export async function createHookline(config: Config, opts: StartOptions = {}): Promise<Hookline> {
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  // Before anything that makes spans; the SDK is imported only when OTEL_* turn tracing on.
  const tracing: TracingHandle | undefined = config.tracing ? await startTracing(config.tracing) : undefined;
  if (config.tracing)
    logger.info(
      {
        exporter: config.tracing.exporter,
        url: safeUrl(config.tracing.url),
        sampler: config.tracing.sampler,
      },
      'tracing on',
    );
  const ctx = await compose(config, logger, opts).catch(async (err: unknown) => {
    await tracing?.stop();
    throw err;
  });
  // Advice only: nothing waits for it, and a server that refuses CONFIG says nothing.
  void redisSettingWarnings(ctx.redis).then((warnings) => warnings.forEach((w) => logger.warn(w)));
  const runApi = opts.api ?? config.ROLE !== 'worker';
  const runWorkers = opts.workers ?? config.ROLE !== 'api';
  let workers: RunningWorkers | undefined;
  if (runWorkers) workers = await startWorkers(ctx);
  const app = runApi
    ? await buildApp(ctx, {
        ...opts.app,
        readiness: workers
          ? { workers: () => workers.workers.every((w) => w.isRunning()), stall: workers.stall }
          : {},
      })
    : undefined;
  let closing: Promise<void> | undefined;
  return {
    ctx,
    app,
    workers,
    close() {
      closing ??= (async () => {
        if (app) await app.close();
        if (workers) await workers.close();
        await ctx.close();
        // Exports the spans still buffered.
        await tracing?.stop();
      })();
      return closing;
    },
  };
}
