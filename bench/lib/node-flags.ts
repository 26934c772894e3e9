// The Node.js flags Hookline runs with in production: those of package.json's `start` script
// (`node <flags> dist/src/main.js`; the Dockerfile's CMD has the same, test/ops/node-flags.test.ts
// keeps them equal). The bench's Hookline child runs with them too, as `npm start` would.
import { readFileSync } from 'node:fs';

const packageScripts = () =>
  (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts;

export function startFlags(script = 'start', scripts: Record<string, string> = packageScripts()): string[] {
  const words = (scripts[script] ?? '').split(/\s+/).filter(Boolean);
  if (words[0] !== 'node') throw new Error(`package.json script ${script} does not start with node`);
  return words.slice(1).filter((w) => w.startsWith('--'));
}
