// The size of V8's young generation, chosen when Hookline starts (docs/operations.md, "Node.js
// flags"). V8 sizes it once, at start: a running process cannot change it, so `main.ts` replaces
// itself with a process started with the flag (process.execve: same PID, same stdio, nothing
// of the first process left) before it opens anything.
import type { Config } from './config.js';

const FLAG = '--max-semi-space-size';

/** The cap without tracing: B6 held with it in full runs (4 ms young-generation pauses at load). */
export const DEFAULT_SEMI_SPACE_MB = 8;

export interface YoungGenerationPlan {
  /** Flags to restart with; empty: run on as we are. */
  add: string[];
  /** What was decided, for the start-up log line. */
  semiSpace: string;
}

/** The flag as given in Node's own flags or NODE_OPTIONS, if it is. */
function given(execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  // V8 takes its flags with dashes or underscores alike.
  const words = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map((w) =>
    w.replace(/^--([\w-]+)/, (m) => m.replaceAll('_', '-')),
  );
  const i = words.findIndex((w) => w === FLAG || w.startsWith(`${FLAG}=`));
  if (i === -1) return undefined;
  return words[i]!.includes('=') ? words[i]!.slice(FLAG.length + 1) : (words[i + 1] ?? '');
}

/**
 * What this process should run with: MAX_SEMI_SPACE_MB when set (0: V8's own sizing), else
 * DEFAULT_SEMI_SPACE_MB with tracing off and V8's own sizing with it on. A flag already given
 * wins, and is what a restarted process finds, so it never restarts twice.
 */
export function youngGenerationPlan(
  config: Pick<Config, 'MAX_SEMI_SPACE_MB' | 'tracing'>,
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): YoungGenerationPlan {
  const already = given(execArgv, nodeOptions);
  if (already !== undefined) return { add: [], semiSpace: `${already} MB (${FLAG} given)` };
  const mb = config.MAX_SEMI_SPACE_MB ?? (config.tracing ? 0 : DEFAULT_SEMI_SPACE_MB);
  if (mb === 0) return { add: [], semiSpace: config.tracing ? "V8's own (tracing on)" : "V8's own" };
  return { add: [`${FLAG}=${mb}`], semiSpace: `${mb} MB` };
}

/** The node flags a process of `config` runs with beside npm start's (the bench's child too). */
export const youngGenerationFlags = (config: Pick<Config, 'MAX_SEMI_SPACE_MB' | 'tracing'>): string[] =>
  youngGenerationPlan(config, [], undefined).add;

/**
 * Replaces this process with one started with the plan's flags, when there are any and the
 * platform can (process.execve: POSIX, Node.js 22.15+); otherwise returns what this process
 * runs with, for the start-up log. Call it first thing, before anything is opened.
 */
export function restartWith(plan: YoungGenerationPlan): string {
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never })
    .execve;
  if (plan.add.length === 0) return plan.semiSpace;
  if (typeof execve !== 'function' || process.platform === 'win32') return "V8's own (cannot restart here)";
  execve(
    process.execPath,
    [process.execPath, ...plan.add, ...process.execArgv, ...process.argv.slice(1)],
    process.env,
  );
  throw new Error('process.execve returned'); // it replaces the process or throws
}
