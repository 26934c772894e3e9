// Debian's headless Chromium through playwright-core, for the browser tests; a test file skips
// itself (saying why) when it is not installed.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

/** The describe title of a browser test: `name`, or `name` with why it is skipped. */
export function browserTitle(name: string): string {
  return haveChromium ? name : `${name} (skipped: ${CHROMIUM} is not installed; apt-get install chromium)`;
}

/** Launches headless Chromium quietly (no sandbox, GPU, QUIC or background traffic), plus `args`. */
export function launchChromium(args: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...args,
    ],
  });
}
