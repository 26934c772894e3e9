// The one way Hookline runs Lua. Each script is a file in ./lua/ (copied beside the compiled
// loader by the build) whose header names its KEYS and ARGV, as BullMQ keeps src/commands/*.lua.
// A script is registered on a connection with ioredis `defineCommand`, which sends EVALSHA and
// falls back to EVAL on NOSCRIPT (a restarted Redis), in single commands and pipelines alike.
// To add one: write src/redis/lua/<name>.lua with its header, declare it where it is used,
//   const CLAIM = luaScript<[key: string], [ttl: number], number>('<name>');
// then `await CLAIM.run(redis, [key], [ttl])`, or `CLAIM.queue(pipe, …)` after `CLAIM.define(redis)`.
// A script should touch only the keys it is given (Redis Cluster routes by them).
import { readdirSync, readFileSync } from 'node:fs';
import type { ChainableCommander, Redis } from 'ioredis';

/** Where the .lua files are: beside this module, in source (tsx, vitest) and in dist/. */
export const LUA_DIR = new URL('./lua/', import.meta.url);

/** A Buffer goes as raw bytes (binary digests); a string as UTF-8. */
export type ScriptArg = string | number | Buffer;

/** A script's reply as ioredis returns it: tables as arrays, nil and false as null. */
export interface LuaScript<K extends readonly string[], A extends readonly ScriptArg[], R> {
  /** The file name without `.lua`, e.g. `breaker-fail`. */
  readonly name: string;
  /** The ioredis command it is defined as: `hl` + the name in camel case (`hlBreakerFail`). */
  readonly command: string;
  readonly lua: string;
  /** KEYS count declared by the header; undefined for a script taking a variable number. */
  readonly numberOfKeys: number | undefined;
  /** Defines the command on a connection (idempotent). Do it before `redis.pipeline()`/`multi()`. */
  define(redis: Redis): void;
  /** Runs the script (defining it on the connection first if needed). */
  run(redis: Redis, keys: K, args: A): Promise<R>;
  /** Adds the script to a pipeline or transaction whose connection has it defined. */
  queue(pipe: ChainableCommander, keys: K, args: A): ChainableCommander;
}

export interface ScriptHeader {
  /** The header comment's text. */
  text: string;
  /** Count of `KEYS[n]` lines, or undefined when a `KEYS[...]` line says the count varies. */
  numberOfKeys: number | undefined;
}

/**
 * Reads a script's header: a leading `--[[ … ]]` comment with one line per key (`KEYS[1] …`, or
 * `KEYS[...] …` for a variable count) and per argument (`ARGV[1] …`, `ARGV[...] …`, or
 * `ARGV none`). Throws naming the file when the header is missing or incomplete.
 */
export function parseHeader(name: string, lua: string): ScriptHeader {
  const m = /^--\[\[([\s\S]*?)\]\]/.exec(lua);
  if (!m) throw new Error(`${name}.lua: must open with a --[[ … ]] header naming its KEYS and ARGV`);
  const text = m[1]!;
  const keyLines = [...text.matchAll(/^\s*KEYS\[([^\]]+)\]/gm)].map((k) => k[1]!);
  if (keyLines.length === 0) throw new Error(`${name}.lua: header names no KEYS[…]`);
  if (!/^\s*ARGV(\[[^\]]+\]|\s+none\b)/m.test(text))
    throw new Error(`${name}.lua: header names no ARGV[…] (write "ARGV none" when it takes none)`);
  if (keyLines.includes('...')) return { text, numberOfKeys: undefined };
  keyLines.forEach((k, i) => {
    if (k !== String(i + 1))
      throw new Error(`${name}.lua: header lists KEYS[${k}] where KEYS[${i + 1}] belongs`);
  });
  return { text, numberOfKeys: keyLines.length };
}

/**
 * A script's text, each `-- @include <lib>` line replaced by `lua/lib/<lib>.lua` (Lua shared by
 * several scripts: local functions, defined before the body that calls them).
 */
export const readLua = (name: string) =>
  readFileSync(new URL(`${name}.lua`, LUA_DIR), 'utf8').replace(
    /^-- @include ([a-z0-9-]+)$/gm,
    (_, lib: string) => readFileSync(new URL(`lib/${lib}.lua`, LUA_DIR), 'utf8').trimEnd(),
  );

/** Names of every script in LUA_DIR (the tests load each one). */
export const scriptNames = () =>
  readdirSync(LUA_DIR)
    .filter((f) => f.endsWith('.lua'))
    .map((f) => f.slice(0, -'.lua'.length))
    .sort();

const commandName = (name: string) =>
  `hl${name.replace(/(^|-)([a-z0-9])/g, (_, _dash: string, c: string) => c.toUpperCase())}`;

type Callable = (...args: ScriptArg[]) => unknown;

/**
 * Declares a script from its file, with its call signature:
 * `luaScript<[lock: string], [token: string], number>('compare-and-delete')`.
 * The file is read (and its header checked) when the declaring module loads.
 */
export function luaScript<K extends readonly string[], A extends readonly ScriptArg[], R>(
  name: string,
): LuaScript<K, A, R> {
  const lua = readLua(name);
  const { numberOfKeys } = parseHeader(name, lua);
  const command = commandName(name);

  const argv = (keys: K, args: A): ScriptArg[] => {
    if (numberOfKeys !== undefined && keys.length !== numberOfKeys)
      throw new Error(`${name}.lua takes ${numberOfKeys} keys, was given ${keys.length}`);
    return [keys.length, ...keys, ...args];
  };
  const method = (target: object) => (target as Record<string, unknown>)[command] as Callable | undefined;

  const script: LuaScript<K, A, R> = {
    name,
    command,
    lua,
    numberOfKeys,
    define(redis) {
      if (typeof method(redis) !== 'function') redis.defineCommand(command, { lua });
    },
    async run(redis, keys, args) {
      script.define(redis);
      return (await method(redis)!.apply(redis, argv(keys, args))) as R;
    },
    queue(pipe, keys, args) {
      const fn = method(pipe);
      if (typeof fn !== 'function')
        throw new Error(
          `Lua script ${name} is not defined on this pipeline's connection: call defineScripts(redis, …) before redis.pipeline()`,
        );
      return fn.apply(pipe, argv(keys, args)) as ChainableCommander;
    },
  };
  return script;
}

/** Defines scripts on a connection, so pipelines made from it afterwards can queue them. */
export function defineScripts(redis: Redis, ...scripts: { define(redis: Redis): void }[]): void {
  for (const s of scripts) s.define(redis);
}

/** One call of a script: the script, its keys and its arguments. */
export interface ScriptCall<R = unknown> {
  script: LuaScript<string[], ScriptArg[], R>;
  keys: string[];
  args: ScriptArg[];
}

/**
 * Script calls in one round trip, each answered as `pipeline.exec()` answers ([error, reply], in
 * order). A call alone goes as a command of its own: an ioredis pipeline copies every command
 * defined on its connection when it is made, which costs more than the command itself.
 */
export async function runScripts(
  redis: Redis,
  calls: readonly ScriptCall[],
): Promise<[Error | null, unknown][]> {
  for (const { script } of calls) script.define(redis);
  if (calls.length === 1) {
    const { script, keys, args } = calls[0]!;
    return [
      await script.run(redis, keys, args).then(
        (reply): [null, unknown] => [null, reply],
        (err: unknown): [Error, undefined] => [err as Error, undefined],
      ),
    ];
  }
  const pipe = redis.pipeline();
  for (const { script, keys, args } of calls) script.queue(pipe, keys, args);
  return ((await pipe.exec()) ?? []) as [Error | null, unknown][];
}
