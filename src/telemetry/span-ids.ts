// Trace and span ids cut from a pool of random hex: one crypto.randomBytes per 256 ids instead
// of the SDK's Math.random and Buffer-to-hex per id (a span's ids are made on a hot path).
import { randomBytes } from 'node:crypto';
import type { IdGenerator } from '@opentelemetry/sdk-trace';

const POOL_BYTES = 4096;

export class PooledIdGenerator implements IdGenerator {
  private pool = '';
  private at = 0;

  generateTraceId(): string {
    return this.take(32);
  }

  generateSpanId(): string {
    return this.take(16);
  }

  private take(chars: number): string {
    for (;;) {
      if (this.at + chars > this.pool.length) {
        this.pool = randomBytes(POOL_BYTES).toString('hex');
        this.at = 0;
      }
      const id = this.pool.slice(this.at, (this.at += chars));
      // All zeros is the invalid id: draw again (once in 2^64 spans).
      if (id.charCodeAt(0) !== 48 || !/^0+$/.test(id)) return id;
    }
  }
}
