// What a test prints to stderr (console.error and process.stderr.write), kept for its checks while
// still printed: the tests that prove nothing raw (an unhandled error event, a stack) is printed.
import { vi } from 'vitest';

export interface Printed {
  /** Each console.error call (its arguments joined by spaces) and each stderr write. */
  lines: string[];
  /** Stops keeping; call it in a `finally`. */
  restore(): void;
}

export function capturePrinted(): Printed {
  const lines: string[] = [];
  const keep = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
  const consoleError = vi.spyOn(console, 'error').mockImplementation(keep);
  const write = process.stderr.write.bind(process.stderr);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk, ...rest) => {
    keep(chunk);
    return write(chunk, ...(rest as []));
  });
  return {
    lines,
    restore() {
      consoleError.mockRestore();
      stderr.mockRestore();
    },
  };
}
