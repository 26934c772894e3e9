// Tracing off costs nothing: a process without OTEL_* configuration resolves no OpenTelemetry
// package but the API (no SDK, exporter or context manager); with an endpoint it loads them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { deleteKeys } from '../helpers/harness.js';

const run = promisify(execFile);
const fixture = new URL('./fixtures/loaded-modules.ts', import.meta.url).pathname;

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function loaded(env: Record<string, string>): Promise<string[]> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', fixture, JSON.stringify(env)], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { PATH: process.env.PATH, REDIS_URL },
    timeout: 60_000,
  });
  const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { modules: string[]; prefix: string };
  await deleteKeys(REDIS_URL, out.prefix);
  return out.modules;
}

describe('tracing off', () => {
  it('loads no OpenTelemetry SDK module', async () => {
    const mods = await loaded({});
    expect(mods.filter((m) => m !== '@opentelemetry/api')).toEqual([]);
  });

  it('loads the SDK when an OTLP endpoint is configured (the check sees it)', async () => {
    // Nothing is exported: the process makes no span before it closes.
    const mods = await loaded({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    expect(mods).toEqual(
      expect.arrayContaining([
        '@opentelemetry/sdk-trace',
        '@opentelemetry/otlp-exporter-base',
        '@opentelemetry/context-async-hooks',
      ]),
    );
  });
});
