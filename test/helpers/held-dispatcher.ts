// A stand-in for the HTTP client whose requests never settle until the test says so, ignoring
// their abort signals and timeouts: what a request stuck in a jammed undici pool looked like.
// Only for tests of Hookline's own deadline and slot handling, never of undici itself: real
// requests (released with `answerAll`) go through a real undici Agent to a real receiver.
import { Agent, type Dispatcher } from 'undici';

interface Held {
  opts: Dispatcher.RequestOptions;
  settle: (res: Promise<Dispatcher.ResponseData>) => void;
}

export interface HeldDispatcher {
  /** Pass as `agent` in StartOptions. */
  dispatcher: Dispatcher;
  /** Requests taken so far (released ones included). */
  readonly count: number;
  /**
   * Sends every request still held, now, through a real Agent, without its signal or timeouts,
   * and hands each answer to its caller; resolves once every caller has its answer.
   */
  answerAll(): Promise<void>;
  close(): Promise<void>;
}

export function heldDispatcher(): HeldDispatcher {
  const held: Held[] = [];
  let count = 0;
  const real = new Agent();
  // Only `request` is used by delivery attempts (src/delivery/attempt.ts).
  const dispatcher = {
    request(opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
      count++;
      return new Promise((resolve, reject) => {
        held.push({ opts, settle: (res) => res.then(resolve, reject) });
      });
    },
  } as unknown as Dispatcher;
  return {
    dispatcher,
    get count() {
      return count;
    },
    async answerAll() {
      const answers = held.splice(0).map(({ opts, settle }) => {
        const { signal: _signal, headersTimeout: _h, bodyTimeout: _b, ...rest } = opts;
        const res = real.request(rest);
        settle(res);
        return res;
      });
      await Promise.allSettled(answers);
      // The callers' own continuations run on the next turns.
      await new Promise((r) => setImmediate(r));
    },
    close: () => real.close(),
  };
}
