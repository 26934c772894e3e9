// Every Lua script is a file with a KEYS/ARGV header, declared once in src/, and loads on the real
// Redis; the loader runs a script alone and in a pipeline, checks key counts, and refuses to queue
// on a pipeline whose connection does not have the script.
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  LUA_DIR,
  luaScript,
  parseHeader,
  readLua,
  runScripts,
  scriptNames,
  type ScriptArg,
} from '../../src/redis/scripts.js';

let redis: Redis;
const prefix = `{hltest-lua-${randomUUID()}}`;

beforeAll(() => {
  redis = new Redis('redis://127.0.0.1:6379');
});
afterAll(async () => {
  const stale = await redis.keys(`${prefix}*`);
  if (stale.length > 0) await redis.del(...stale);
  await redis.quit();
});

/** Every .ts file under src/, with its text. */
function sources(dir = 'src'): { path: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return sources(path);
    return d.name.endsWith('.ts') ? [{ path, text: readFileSync(path, 'utf8') }] : [];
  });
}

describe('the .lua files', () => {
  const names = scriptNames();

  it('are found beside the loader', () => {
    expect(LUA_DIR.pathname).toMatch(/\/src\/redis\/lua\/$/);
    expect(names.length).toBeGreaterThanOrEqual(15);
  });

  it.each(names)(
    '%s: header names KEYS and ARGV, body uses only declared KEYS, SCRIPT LOAD succeeds',
    async (name) => {
      const lua = readLua(name);
      const { numberOfKeys } = parseHeader(name, lua);
      if (numberOfKeys !== undefined) {
        const body = lua.slice(lua.indexOf(']]') + 2);
        const used = [...body.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1]));
        for (const n of used) expect(n, `KEYS[${n}]`).toBeLessThanOrEqual(numberOfKeys);
        expect(body).not.toMatch(/KEYS\[[^\d\]]/); // a fixed-count script indexes KEYS by number only
      }
      expect(await redis.script('LOAD', lua)).toBe(createHash('sha1').update(lua).digest('hex'));
    },
  );

  it('are each declared by one luaScript(…) call in src/ (no orphans)', () => {
    const text = sources()
      .map((s) => s.text)
      .join('\n');
    for (const name of names) expect(text, name).toMatch(new RegExp(`>\\(\\s*'${name}'\\s*,?\\s*\\)`));
  });

  it('no .ts file in src/ carries Lua of its own, nor runs EVAL or defineCommand outside the loader', () => {
    const offenders = sources()
      .filter((s) => s.path !== join('src', 'redis', 'scripts.ts'))
      .filter((s) => /redis\.call\(|\.evalsha?\(|defineCommand\(/.test(s.text))
      .map((s) => s.path);
    expect(offenders).toEqual([]);
  });
});

describe('parseHeader', () => {
  it('reads a fixed key count, or a variable one', () => {
    expect(parseHeader('x', '--[[\n  KEYS[1] a\n  KEYS[2] b\n  ARGV[1] c\n]]\nreturn 1').numberOfKeys).toBe(
      2,
    );
    expect(parseHeader('x', '--[[\n  KEYS[...] any\n  ARGV none\n]]\nreturn 1').numberOfKeys).toBeUndefined();
  });

  it('refuses a script without a header, without ARGV, or with keys out of order', () => {
    expect(() => parseHeader('x', 'return 1')).toThrow(/x.lua: must open with/);
    expect(() => parseHeader('x', '--[[\n  KEYS[1] a\n]]\n')).toThrow(/no ARGV/);
    expect(() => parseHeader('x', '--[[\n  ARGV[1] a\n]]\n')).toThrow(/no KEYS/);
    expect(() => parseHeader('x', '--[[\n  KEYS[2] a\n  ARGV none\n]]\n')).toThrow(/KEYS\[1\] belongs/);
  });
});

describe('luaScript', () => {
  const release = luaScript<[lock: string], [token: string], number>('compare-and-delete');

  it('runs alone, defining itself on the connection', async () => {
    const key = `${prefix}:lock`;
    await redis.set(key, 'mine');
    expect(await release.run(redis, [key], ['theirs'])).toBe(0);
    expect(await release.run(redis, [key], ['mine'])).toBe(1);
    expect(await redis.exists(key)).toBe(0);
  });

  it('queues in a pipeline and a MULTI of a connection it is defined on', async () => {
    const key = `${prefix}:lock2`;
    release.define(redis);
    const replies = await release.queue(redis.pipeline().set(key, 't'), [key], ['t']).exists(key).exec();
    expect(replies?.map(([, v]) => v)).toEqual(['OK', 1, 0]);
    const tx = await release.queue(redis.multi().set(key, 'u'), [key], ['u']).exec();
    expect(tx?.map(([, v]) => v)).toEqual(['OK', 1]);
  });

  it('refuses a wrong key count, and a pipeline whose connection lacks it', async () => {
    await expect(release.run(redis, [] as unknown as [string], ['t'])).rejects.toThrow(
      /takes 1 keys, was given 0/,
    );
    const other = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
    try {
      expect(() => release.queue(other.pipeline(), [`${prefix}:x`], ['t'])).toThrow(
        /not defined on this pipeline/,
      );
    } finally {
      other.disconnect();
    }
  });
});

describe('runScripts', () => {
  const release = luaScript<string[], ScriptArg[], number>('compare-and-delete');

  it('sends a call alone as a command of its own, several as one pipeline, answering [error, reply] each', async () => {
    const [a, b] = [`${prefix}:rs-a`, `${prefix}:rs-b`];
    await redis.set(a, 'mine');
    await redis.set(b, 'mine');
    const pipeline = vi.spyOn(redis, 'pipeline');
    try {
      expect(await runScripts(redis, [{ script: release, keys: [a], args: ['mine'] }])).toEqual([[null, 1]]);
      expect(pipeline).not.toHaveBeenCalled();
      // A failing call answers its error, as pipeline.exec does, instead of throwing.
      const [alone] = await runScripts(redis, [{ script: release, keys: [], args: ['mine'] }]);
      expect(alone?.[0]).toBeInstanceOf(Error);
      expect(pipeline).not.toHaveBeenCalled();
      const both = await runScripts(redis, [
        { script: release, keys: [b], args: ['theirs'] },
        { script: release, keys: [b], args: ['mine'] },
      ]);
      expect(pipeline).toHaveBeenCalledTimes(1);
      expect(both).toEqual([
        [null, 0],
        [null, 1],
      ]);
      expect(await redis.exists(a, b)).toBe(0);
    } finally {
      pipeline.mockRestore();
    }
  });
});
