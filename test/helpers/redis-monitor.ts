// MONITOR on a plain socket. ioredis's monitor() marks its connection as monitoring only a
// microtask after MONITOR's +OK is read, so on a busy server the first monitored command, read in
// the same chunk as that +OK, reaches its command queue and it throws "Command queue state error"
// (it failed CI once). Here every line after +OK is a monitored command.
import { connect } from 'node:net';

export interface RedisMonitor {
  /** Closes the socket; throws what broke the feed meanwhile (a socket error, `onCommand`'s throw). */
  close(): Promise<void>;
}

/** An argument `"…"` of a MONITOR line (read as latin1) as Redis escapes it (sdscatrepr), back to its text. */
function unescape(repr: string): string {
  const bytes: number[] = [];
  const simple: Record<string, number> = { n: 10, r: 13, t: 9, a: 7, b: 8, '"': 34, '\\': 92 };
  for (let i = 0; i < repr.length; i++) {
    const c = repr[i]!;
    if (c !== '\\') {
      bytes.push(c.charCodeAt(0));
      continue;
    }
    const next = repr[i + 1]!;
    if (next === 'x') {
      bytes.push(parseInt(repr.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      bytes.push(simple[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The arguments of a MONITOR line (its leading `+` removed). */
function parseMonitorLine(line: string): string[] {
  const start = line.indexOf('] ');
  if (start < 0) return [];
  return [...line.slice(start + 2).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => unescape(m[1]!));
}

/**
 * Calls `onCommand` with the arguments of every command the server runs (unescaped, bytes
 * decoded as UTF-8), once MONITOR is on. Rejects if MONITOR is not on within 5 s.
 */
export function startMonitor(url: string, onCommand: (args: string[]) => void): Promise<RedisMonitor> {
  const u = new URL(url);
  const socket = connect(Number(u.port || 6379), u.hostname || '127.0.0.1');
  return new Promise((resolve, reject) => {
    let pending = '';
    let on = false;
    let oks = u.password ? 2 : 1;
    let broken: unknown;
    const timer = setTimeout(() => {
      reject(new Error('MONITOR not on within 5 s'));
      socket.destroy();
    }, 5_000);
    const close = () =>
      new Promise<void>((done, fail) => {
        const end = () => (broken ? fail(broken) : done());
        if (socket.destroyed) return end();
        socket.once('close', end);
        socket.destroy();
      });
    socket.on('error', (err) => {
      clearTimeout(timer);
      broken ??= err;
      reject(err);
    });
    socket.on('connect', () => {
      const command = (...args: string[]) =>
        `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
      const user = decodeURIComponent(u.username);
      const password = decodeURIComponent(u.password);
      const auth = u.password ? (user ? command('AUTH', user, password) : command('AUTH', password)) : '';
      socket.write(`${auth}${command('MONITOR')}`);
    });
    // MONITOR's replies are simple strings, so every reply is one line: latin1 keeps each byte.
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      let end: number;
      while ((end = pending.indexOf('\r\n')) >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (line.startsWith('-')) {
          clearTimeout(timer);
          reject(new Error(`MONITOR refused: ${line.slice(1)}`));
          socket.destroy();
          return;
        }
        if (!on) {
          // One +OK to AUTH if sent, then one to MONITOR.
          if (line === '+OK' && --oks === 0) {
            on = true;
            clearTimeout(timer);
            resolve({ close });
          }
          continue;
        }
        try {
          onCommand(parseMonitorLine(line.slice(1)));
        } catch (err) {
          broken ??= err;
        }
      }
    });
  });
}
