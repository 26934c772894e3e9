// Diagnostic for profiling runs: counts the Redis commands and round trips of this process by
// wrapping ioredis's one entry point (Redis#sendCommand). A pipeline or MULTI is one round trip;
// Lua scripts are named by their BullMQ/Hookline command name where ioredis knows it.
import { Redis } from 'ioredis';

interface Command {
  name: string;
  args: unknown[];
}
interface Instance {
  scriptsSet?: Record<string, { sha: string }>;
}
type SendCommand = (this: Instance, command: Command, stream?: object) => unknown;

export interface RedisCounts {
  commands: number;
  roundTrips: number;
  byName: Record<string, number>;
}

export function installRedisCounter() {
  const proto = Redis.prototype as unknown as { sendCommand: SendCommand };
  const original = proto.sendCommand;
  let counts: RedisCounts = { commands: 0, roundTrips: 0, byName: {} };
  let pipelines = new WeakSet<object>();
  const scriptNames = new Map<string, string>();

  function scriptName(redis: Instance, sha: string): string {
    let name = scriptNames.get(sha);
    if (!name) {
      name = Object.entries(redis.scriptsSet ?? {}).find(([, s]) => s.sha === sha)?.[0] ?? sha.slice(0, 8);
      scriptNames.set(sha, name);
    }
    return name;
  }

  proto.sendCommand = function (this: Instance, command: Command, stream?: object) {
    counts.commands++;
    if (!stream) counts.roundTrips++;
    else if (!pipelines.has(stream)) {
      pipelines.add(stream);
      counts.roundTrips++;
    }
    const name =
      command.name === 'evalsha' ? `evalsha ${scriptName(this, String(command.args[0]))}` : command.name;
    counts.byName[name] = (counts.byName[name] ?? 0) + 1;
    // eslint-disable-next-line prefer-rest-params
    return original.apply(this, arguments as unknown as [Command, object?]);
  };

  return {
    snapshot: (): RedisCounts => ({ ...counts, byName: { ...counts.byName } }),
    reset() {
      counts = { commands: 0, roundTrips: 0, byName: {} };
      pipelines = new WeakSet();
    },
  };
}

export type RedisCounter = ReturnType<typeof installRedisCounter>;

/** Per-item view of counts: commands and round trips per delivery, top commands. */
export function perItem(c: RedisCounts, items: number, top = 12) {
  const per = (x: number) => Math.round((x / Math.max(1, items)) * 100) / 100;
  return {
    commands: per(c.commands),
    roundTrips: per(c.roundTrips),
    top: Object.entries(c.byName)
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, n]) => ({ name, perItem: per(n) })),
  };
}
