// A Hookline logger whose JSON lines a test reads back, parsed, instead of their reaching stdout.
import { createLogger, type Logger } from '../../src/logger.js';

export function capturedLogger<Line = Record<string, unknown>>(
  level = 'info',
): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  // pino writes each line whole, in one call.
  const logger = createLogger(level, {}, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  return { logger, lines };
}
