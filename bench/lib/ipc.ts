// A tiny request/reply protocol over Node's IPC channel, so the bench can drive its child
// processes (receiver, Hookline, baseline workers) and every child stops when the parent goes.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Request {
  rpc: number;
  cmd: string;
  args: unknown;
}
interface Reply {
  rpc: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}
/** Unsolicited messages a child pushes (receiver progress, for instance). */
export interface Push {
  push: string;
  data: unknown;
}

export type Handler = (args: never) => unknown;

/** Child side: answers the parent's commands; exits when the parent disconnects. */
export function serve(handlers: Record<string, Handler>): void {
  process.on('message', (msg: Request) => {
    const handler = handlers[msg.cmd] as ((args: unknown) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${msg.cmd}`);
        return handler(msg.args);
      })
      .then(
        (result) => send({ rpc: msg.rpc, ok: true, result }),
        (err: unknown) => send({ rpc: msg.rpc, ok: false, error: String((err as Error)?.stack ?? err) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

function send(msg: Reply | Push): void {
  if (process.connected) process.send!(msg);
}

export function push(name: string, data: unknown): void {
  send({ push: name, data });
}

export interface ChildOptions {
  /** Extra node flags (e.g. --cpu-prof, --expose-gc). */
  execArgv?: string[];
  env?: Record<string, string>;
  /** Shown in errors. */
  label: string;
}

export class Child {
  /** Every child still running, so an interrupted run can stop them before deleting keys. */
  private static readonly live = new Set<Child>();
  private next = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly listeners = new Map<string, (data: unknown) => void>();
  private exited = false;
  readonly exitedPromise: Promise<number | null>;

  private constructor(
    readonly proc: ChildProcess,
    readonly label: string,
  ) {
    proc.on('message', (msg: Reply | Push) => {
      if ('push' in msg) {
        this.listeners.get(msg.push)?.(msg.data);
        return;
      }
      const p = this.pending.get(msg.rpc);
      if (!p) return;
      this.pending.delete(msg.rpc);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(`${label}: ${msg.error}`));
    });
    this.exitedPromise = new Promise((resolve) => {
      Child.live.add(this);
      proc.on('exit', (code) => {
        Child.live.delete(this);
        this.exited = true;
        for (const p of this.pending.values()) p.reject(new Error(`${label} exited (code ${code})`));
        this.pending.clear();
        resolve(code);
      });
    });
  }

  /** Forks a TypeScript module of bench/ (run through tsx) with an IPC channel. */
  static start(module: string, opts: ChildOptions): Child {
    const file = fileURLToPath(new URL(`../${module}`, import.meta.url));
    const proc = fork(file, [], {
      execArgv: ['--import', 'tsx', ...(opts.execArgv ?? [])],
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', process.env.BENCH_CHILD_STDOUT ? 'inherit' : 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    return new Child(proc, opts.label);
  }

  call<T>(cmd: string, args: unknown = {}, timeoutMs = 120_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.label} is not running`));
    const rpc = this.next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rpc);
        reject(new Error(`${this.label}: ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(rpc, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.send({ rpc, cmd, args } satisfies Request);
    });
  }

  on(push: string, listener: (data: unknown) => void): void {
    this.listeners.set(push, listener);
  }

  /** Kills every running child at once and waits until they are gone. */
  static async killAll(): Promise<void> {
    const all = [...Child.live];
    for (const c of all) c.proc.kill('SIGKILL');
    await Promise.all(all.map((c) => c.exitedPromise));
  }

  /** Asks the child to close cleanly, then kills it if it lingers. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.exited) return;
    const killer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    try {
      await this.call('exit', {}, graceMs).catch(() => undefined);
      await this.exitedPromise;
    } finally {
      clearTimeout(killer);
    }
  }
}
