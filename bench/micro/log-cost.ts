// Micro-benchmark behind a profile finding: the per-attempt info line through Hookline's logger
// (pino with its redaction paths) against the same line without redaction, both to /dev/null.
// Run: npx tsx bench/micro/log-cost.ts
import { pino } from 'pino';
import { createLogger } from '../../src/logger.js';

const N = 50_000;
const line = {
  eventId: 'evt_3kTMd8mK2vQ1c9ZrX0aB7wYp',
  deliveryId: 'dlv_Qm4nZ8pL0sT2vX6yA1bC3dEf',
  subscriptionId: 'sub_8HjK2mN4pQ6rS8tU0vW2xY4z',
  attempt: 1,
  statusCode: 200,
  durationMs: 3,
  outcome: 'succeeded',
  errorCode: undefined,
  url: 'https://hooks.example.com/webhooks/hookline',
};
const devNull = () => pino.destination({ dest: '/dev/null', sync: true });
const loggers = {
  'Hookline logger (redaction on)': createLogger('info', {}, devNull()),
  'pino, no redaction': pino({ level: 'info', base: { service: 'hookline' } }, devNull()),
  'Hookline logger at level warn (line skipped)': createLogger('warn', {}, devNull()),
};
for (const [name, log] of Object.entries(loggers)) {
  for (let i = 0; i < 5_000; i++) log.info(line, 'delivery attempt'); // warm-up
  const t = performance.now();
  for (let i = 0; i < N; i++) log.info(line, 'delivery attempt');
  console.log(`${name}: ${(((performance.now() - t) / N) * 1000).toFixed(2)} µs per line`);
}
