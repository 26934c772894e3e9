// The README is part of the product: it must list every configuration variable and the two commands.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSpec } from '../src/config.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it.each(Object.keys(configSpec))('documents %s', (name) => {
    expect(readme).toContain(`\`${name}\``);
  });
  it('shows the two set-up commands', () => {
    expect(readme).toContain('docker compose up');
    expect(readme).toContain('npm ci && npm test');
    expect(readme).toContain('npm start');
  });
});
