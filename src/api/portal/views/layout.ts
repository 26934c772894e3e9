// The page frame every portal page shares: header, navigation, the CSRF token, one stylesheet
// and one script, both served by Hookline itself (no CDN, works offline).
import { html, type Html } from '../html.js';

export interface Frame {
  csrf?: string;
  tenantId?: string;
  /** The navigation entry to mark as current. */
  current?: 'list' | 'new';
  canCreate?: boolean;
}

/** The hidden field that carries the session's CSRF token in a form post. */
export const csrfField = (frame: Frame) => html`<input type="hidden" name="_csrf" value="${frame.csrf}" />`;

/** A subscription's or a delivery's status as a coloured badge. */
export const statusBadge = (status: string) => html`<span class="status status-${status}">${status}</span>`;

/** The one-line notice a redirect asked for (`?done=`), or nothing. */
export const noticeLine = (notice: string | undefined) =>
  notice ? html`<p class="notice" role="status">${notice}</p>` : '';

export function layout(title: string, body: Html, frame: Frame = {}): Html {
  const nav = frame.tenantId
    ? html`<nav aria-label="Portal">
        <a href="/portal" ${frame.current === 'list' ? html`aria-current="page"` : ''}>Manage Webhooks</a>
        ${
          frame.canCreate
            ? html`<a href="/portal/webhooks/new" ${frame.current === 'new' ? html`aria-current="page"` : ''}
                >Add Webhook</a
              >`
            : ''
        }
        <form method="post" action="/portal/logout" class="inline">
          ${csrfField(frame)}
          <button type="submit" class="link">Sign out</button>
        </form>
      </nav>`
    : '';
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        ${frame.csrf ? html`<meta name="csrf-token" content="${frame.csrf}" />` : ''}
        <title>${title} · Webhooks</title>
        <link rel="stylesheet" href="/portal/assets/portal.css" />
        <script src="/portal/assets/portal.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <span class="brand">Webhooks</span>
          ${frame.tenantId ? html`<span class="tenant">Account <code>${frame.tenantId}</code></span>` : ''}
          ${nav}
        </header>
        <main id="main" tabindex="-1">${body}</main>
      </body>
    </html>`;
}

/** The page shown for a used, expired or forged link, a missing session or another tenant's id. */
export const goneView = (frame: Frame = {}) =>
  layout(
    'Link expired or not found',
    html`<section class="card narrow">
      <h1>Link expired or not found</h1>
      <p>This link has expired, was already used, or what it points to does not exist.</p>
      <p>Ask for a new link from the dashboard you came from.</p>
    </section>`,
    frame,
  );

/** A refused or impossible request (a missing scope, a bad CSRF token, bad input): plain words, no data. */
export const refusedView = (message: string, frame: Frame = {}, heading = 'Not allowed') =>
  layout(
    heading,
    html`<section class="card narrow">
      <h1>${heading}</h1>
      <p>${message}</p>
      <p><a href="/portal">Back to Manage Webhooks</a></p>
    </section>`,
    frame,
  );

/** The answer to opening a link: the cookie is set; a same-site navigation moves on to /portal. */
export const startView = () =>
  html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <meta http-equiv="refresh" content="0;url=/portal" />
        <title>Opening the webhook portal…</title>
        <link rel="stylesheet" href="/portal/assets/portal.css" />
      </head>
      <body>
        <main id="main" class="card narrow">
          <h1>Opening the webhook portal…</h1>
          <p><a href="/portal" id="continue">Continue to Manage Webhooks</a></p>
        </main>
      </body>
    </html>`;
