// One delivery: the request Hookline sends for it (credentials masked), then each attempt with
// the receiver's answer, and Retry once it has ended.
import { FINAL_STATUSES, type DeliveryRecord } from '../../../domain/delivery-record.js';
import type { OutboundRequest } from '../../../delivery/attempt.js';
import { html } from '../html.js';
import { csrfField, layout, noticeLine, statusBadge, type Frame } from './layout.js';

const headerList = (h: Record<string, string>) =>
  Object.keys(h).length
    ? html`<ul class="plain headers">
        ${Object.entries(h).map(([k, v]) => html`<li><code>${k}: ${v}</code></li>`)}
      </ul>`
    : html`<p class="hint">none</p>`;

export function deliveryView(
  d: DeliveryRecord,
  request: OutboundRequest | undefined,
  opts: { canRetry: boolean; notice?: string },
  frame: Frame,
) {
  const attempts = [...d.attempts].reverse();
  const body = html`<p><a href="/portal/webhooks/${d.subscriptionId}">← Webhook details</a></p>
    <h1>Delivery <code>${d.id}</code></h1>
    ${noticeLine(opts.notice)}
    <section class="card">
      <dl class="config">
        <dt>Status</dt>
        <dd>${statusBadge(d.status)}</dd>
        <dt>Event</dt>
        <dd><code>${d.eventId}</code></dd>
        <dt>Created</dt>
        <dd>${d.createdAt}</dd>
        ${
          d.nextAttemptAt
            ? html`<dt>Next attempt</dt>
                <dd>${d.nextAttemptAt}</dd>`
            : ''
        }
        ${
          d.redrivenTo
            ? html`<dt>Retried as</dt>
                <dd><a href="/portal/deliveries/${d.redrivenTo}">${d.redrivenTo}</a></dd>`
            : ''
        }
        ${
          d.retryOf
            ? html`<dt>Retry of</dt>
                <dd><a href="/portal/deliveries/${d.retryOf}">${d.retryOf}</a></dd>`
            : ''
        }
      </dl>
      ${
        opts.canRetry && FINAL_STATUSES.has(d.status)
          ? html`<form method="post" action="/portal/deliveries/${d.id}/retry">
              ${csrfField(frame)}
              <button type="submit">Retry</button>
            </form>`
          : ''
      }
    </section>
    ${
      request
        ? html`<section class="card">
            <h2>Request</h2>
            <p class="hint">
              As the webhook’s current settings send this event, credentials masked; each attempt signs it
              with its own timestamp.
            </p>
            <p><code>${request.method} ${request.url}</code></p>
            ${headerList(request.headers)}
            ${request.body !== undefined ? html`<pre class="body">${request.body}</pre>` : ''}
          </section>`
        : ''
    }
    <section class="card">
      <h2>Attempts</h2>
      ${
        attempts.length
          ? attempts.map(
              (a) =>
                html`<article class="attempt">
                  <h3>Attempt ${a.n}: ${a.statusCode ?? 'no answer'} in ${Math.round(a.durationMs)} ms</h3>
                  <p class="hint">${a.startedAt}</p>
                  ${a.error ? html`<p class="error-text">${a.error.code}: ${a.error.message}</p>` : ''}
                  <h4>Response headers</h4>
                  ${headerList(a.responseHeaders)}
                  <h4>Response body</h4>
                  <pre class="body">${a.responseBody || '(empty)'}</pre>
                </article>`,
            )
          : html`<p>No attempt yet.</p>`
      }
    </section>`;
  return layout('Delivery', body, frame);
}
