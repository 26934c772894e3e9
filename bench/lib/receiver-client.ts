// The receiver as the phases see it, wherever it runs: in a child process (default, its own
// event loop and CPU) or inside the bench process (`--receiver=inproc`).
import { now, sleep } from './clock.js';
import { Child } from './ipc.js';
import {
  startReceiver,
  type Latencies,
  type Receiver,
  type ReceiverReset,
  type ReceiverStats,
} from './receiver.js';

export type ReceiverPlacement = 'child' | 'inproc';

export interface ReceiverClient {
  readonly port: number;
  readonly placement: ReceiverPlacement;
  /** Base URL, e.g. http://127.0.0.1:40123 */
  readonly origin: string;
  reset(o: ReceiverReset): Promise<void>;
  stats(): Promise<ReceiverStats>;
  latencies(): Promise<Latencies>;
  /** Polls until `field` reaches n or the deadline passes; returns the last stats either way. */
  waitFor(n: number, deadline: number, field?: 'count' | 'distinct'): Promise<ReceiverStats>;
  close(): Promise<void>;
}

export async function startReceiverClient(placement: ReceiverPlacement): Promise<ReceiverClient> {
  let port: number;
  let call: <T>(cmd: 'reset' | 'stats' | 'latencies', args?: unknown) => Promise<T>;
  let close: () => Promise<void>;
  if (placement === 'child') {
    const child = Child.start('receiver-child.ts', { label: 'receiver' });
    port = await child.call<number>('port', {}, 30_000);
    call = (cmd, args) => child.call(cmd, args ?? {});
    close = () => child.stop();
  } else {
    const r: Receiver = await startReceiver();
    port = r.port;
    call = async <T>(cmd: string, args?: unknown) => {
      if (cmd === 'reset') return r.reset(args as ReceiverReset) as T;
      if (cmd === 'stats') return r.stats() as T;
      return r.latencies() as T;
    };
    close = () => r.close();
  }
  const client: ReceiverClient = {
    port,
    placement,
    origin: `http://127.0.0.1:${port}`,
    reset: (o) => call('reset', o),
    stats: () => call('stats'),
    latencies: () => call('latencies'),
    async waitFor(n, deadline, field = 'count') {
      for (;;) {
        const s = await client.stats();
        if (s[field] >= n || now() >= deadline) return s;
        await sleep(20);
      }
    },
    close,
  };
  return client;
}
