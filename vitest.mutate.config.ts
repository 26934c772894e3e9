// The fast, pure unit tests Stryker runs against each mutant (npm run mutate): no Redis, no
// receivers, only loopback sockets in the SSRF connector test. Not part of `npm test`'s config.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/domain/**/*.test.ts',
      'test/delivery/formats*.test.ts',
      'test/delivery/ssrf-*.test.ts',
      // Pure too (no Redis, no sockets): Retry-After parsing, protected headers, report secrets.
      'test/delivery/verdicts.test.ts',
    ],
    testTimeout: 10_000,
  },
});
