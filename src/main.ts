// Process entry point (`npm start`): reads the config, starts what ROLE asks for, and drains
// gracefully on SIGTERM/SIGINT.
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig, usesDevDefaults } from './config.js';
import { createHookline } from './hookline.js';
import { createLogger } from './logger.js';
import { restartWith, youngGenerationPlan } from './young-generation.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  // Restarts this process (same PID) with the young generation's flag when it lacks it.
  const semiSpace = restartWith(youngGenerationPlan(config));
  const logger = createLogger(config.LOG_LEVEL);
  logger.info({ pid: process.pid, maxSemiSpace: semiSpace }, 'V8 young generation');
  const dev = usesDevDefaults(config);
  if (dev.adminToken) logger.warn('ADMIN_TOKEN is not set: using the development token "dev-admin-token"');
  if (dev.encryptionKey) logger.warn('ENCRYPTION_KEY is not set: using a fixed development key');

  const hookline = await createHookline(config, { logger });
  closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS + 5_000 }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'fatal error, shutting down');
    else logger.info({ signal }, 'shutting down');
    await hookline.close();
  });
  if (hookline.app) {
    const address = await hookline.app.listen({ port: config.PORT, host: config.HOST });
    logger.info({ address, role: config.ROLE }, 'Hookline API listening');
  }
  if (hookline.workers)
    logger.info({ role: config.ROLE, concurrency: config.DELIVERY_CONCURRENCY }, 'Hookline workers running');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
