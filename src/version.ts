// The running version, for the User-Agent and /healthz.
import { readFileSync } from 'node:fs';

function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // try the next location (src/ when run from source, dist/src/ when built)
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();
export const USER_AGENT = `Hookline/${VERSION}`;
