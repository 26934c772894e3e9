// View Details: the whole configuration (secrets masked), the signing secret (reveal, rotate),
// pause and resume, recover by time window, and the delivery log, newest first, by status.
import { DELIVERY_STATUSES, type DeliveryRecord } from '../../../domain/delivery-record.js';
import type { SubscriptionView } from '../../present.js';
import { html, type Html } from '../html.js';
import { productLabel, productUniqueId, reportType, sendMethod, SEND_METHODS } from '../labels.js';
import { csrfField, layout, noticeLine, statusBadge, type Frame } from './layout.js';

export interface DetailsPage {
  sub: SubscriptionView;
  deliveries: DeliveryRecord[];
  nextCursor: string | null;
  status?: string;
  cursor?: string;
  notice?: string;
  can: { update: boolean; delete: boolean; deliveriesRead: boolean; deliveriesWrite: boolean };
}

const row = (label: string, value: Html | string | undefined) =>
  value === undefined || value === ''
    ? ''
    : html`<dt>${label}</dt>
        <dd>${value}</dd>`;

const pairs = (m: Record<string, string> | undefined) =>
  m && Object.keys(m).length
    ? html`<ul class="plain">
        ${Object.entries(m).map(([k, v]) => html`<li><code>${k}</code>: <code>${v}</code></li>`)}
      </ul>`
    : undefined;

function authText(s: SubscriptionView): Html | string {
  switch (s.authType) {
    case 'secret':
      return html`Secret header <code>${s.secret?.headerName}</code>: <code>${s.secret?.value}</code>`;
    case 'bearer':
      return html`Bearer token <code>${s.bearer?.token}</code>`;
    case 'basic':
      return html`Basic, user <code>${s.basic?.username}</code>, password <code>${s.basic?.password}</code>`;
    case 'oauth2':
      return html`OAuth 2.0 ${s.oauth2?.grantType}, token URL <span class="url">${s.oauth2?.tokenUrl}</span>,
        client <code>${s.oauth2?.clientId}</code>, secret
        <code>${s.oauth2?.clientSecret}</code>
        ${s.oauth2?.refreshToken ? html`, refresh token <code>${s.oauth2.refreshToken}</code>` : ''}`;
    default:
      return 'None';
  }
}

const utcInput = (ms: number) => new Date(ms).toISOString().slice(0, 16);

export function detailsView(p: DetailsPage, frame: Frame) {
  const s = p.sub;
  const csrf = csrfField(frame);
  const base = `/portal/webhooks/${s.id}`;
  const q = (extra: Record<string, string | undefined>) => {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries({ status: p.status, ...extra })) if (v) u.set(k, v);
    const str = u.toString();
    return str ? `${base}?${str}` : base;
  };
  const now = Date.now();

  const config = html`<section class="card" aria-labelledby="config-h">
    <h2 id="config-h">Configuration</h2>
    <dl class="config">
      ${row('ID', html`<code>${s.id}</code>`)}
      ${row('Status', html`${statusBadge(s.status)}${s.disabledReason ? ` (${s.disabledReason})` : ''}`)}
      ${row('Product', productLabel(s))} ${row('Webhook', html`<span class="url">${s.webhookUrl}</span>`)}
      ${row('Description', s.description)} ${row('Report Type', `${reportType(s)} (${s.events.join(', ')})`)}
      ${row('Server Method', SEND_METHODS[sendMethod(s)].label)}
      ${row('Product Unique ID', productUniqueId(s))} ${row('Payload format', s.format)}
      ${row('Parameter names', pairs(s.fieldNames as Record<string, string> | undefined))}
      ${row('Custom parameters', pairs(s.customParams))} ${row('Custom headers', pairs(s.customHeaders))}
      ${row('Authentication', authText(s))} ${row('Timeout', `${s.timeoutMs ?? 10000} ms`)}
      ${row('Retries', String(s.maxRetries ?? 10))} ${row('Created', s.createdAt)}
      ${row('Updated', s.updatedAt)}
    </dl>
    <div class="row">
      ${p.can.update ? html`<a class="button" href="${base}/edit">Edit</a>` : ''}
      ${
        p.can.update
          ? html`<form
              method="post"
              action="${base}/${s.status === 'active' ? 'pause' : 'resume'}"
              class="inline"
            >
              ${csrf}<button type="submit">${s.status === 'active' ? 'Pause' : 'Resume'}</button>
            </form>`
          : ''
      }
      ${p.can.delete ? html`<a class="button danger" href="${base}/delete">Delete</a>` : ''}
    </div>
  </section>`;

  const secret = html`<section class="card" aria-labelledby="secret-h">
    <h2 id="secret-h">Signing secret</h2>
    <p class="hint">
      Verify the <code>webhook-signature</code> header of every request with it (Standard Webhooks).
    </p>
    <p><code id="signing-secret">whsec_****</code></p>
    <div class="row">
      <button type="button" id="reveal-secret" data-id="${s.id}">Reveal</button>
      ${
        p.can.update
          ? html`<form method="post" action="${base}/rotate-secret" class="inline">
              ${csrf}<button type="submit">Rotate</button>
            </form>`
          : ''
      }
    </div>
    <p class="hint">After rotating, the previous secret keeps signing beside the new one for 24 hours.</p>
  </section>`;

  const recover = p.can.deliveriesWrite
    ? html`<section class="card" aria-labelledby="recover-h">
        <h2 id="recover-h">Recover failed deliveries</h2>
        <form method="post" action="${base}/recover" class="grid">
          ${csrf}
          <div class="field">
            <label for="recover-since">From (UTC)</label>
            <input
              type="datetime-local"
              id="recover-since"
              name="since"
              value="${utcInput(now - 86_400_000)}"
              required
            />
          </div>
          <div class="field">
            <label for="recover-until">Until (UTC)</label>
            <input type="datetime-local" id="recover-until" name="until" value="${utcInput(now + 60_000)}" />
          </div>
          <div class="field"><button type="submit">Recover</button></div>
        </form>
      </section>`
    : '';

  const log = p.can.deliveriesRead
    ? html`<section class="card" aria-labelledby="log-h">
        <h2 id="log-h">Delivery log</h2>
        <form method="get" action="${base}" class="row filter">
          <label for="status-filter">Status</label>
          <select id="status-filter" name="status">
            <option value="">All</option>
            ${DELIVERY_STATUSES.map((st) => html`<option value="${st}" ${p.status === st ? html`selected` : ''}>${st}</option>`)}
          </select>
          <button type="submit">Filter</button>
        </form>
        <table class="deliveries">
          <thead>
            <tr>
              <th scope="col">Delivery</th>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last answer</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            ${
              p.deliveries.length
                ? p.deliveries.map(
                    (d) =>
                      html`<tr>
                        <td data-label="Delivery"><a href="/portal/deliveries/${d.id}">${d.id}</a></td>
                        <td data-label="Event"><code>${d.eventId}</code></td>
                        <td data-label="Status">${statusBadge(d.status)}</td>
                        <td data-label="Attempts">${d.attempts.length}</td>
                        <td data-label="Last answer">
                          ${d.attempts.at(-1)?.statusCode ?? d.attempts.at(-1)?.error?.code ?? '—'}
                        </td>
                        <td data-label="Created">${d.createdAt}</td>
                      </tr>`,
                  )
                : html`<tr class="empty">
                    <td colspan="6">No deliveries${p.status ? ` with status ${p.status}` : ''} yet.</td>
                  </tr>`
            }
          </tbody>
        </table>
        <nav class="pager" aria-label="Delivery pages">
          ${p.cursor ? html`<a href="${q({})}">Newest</a>` : ''}
          ${p.nextCursor ? html`<a href="${q({ cursor: p.nextCursor })}">Older</a>` : ''}
        </nav>
      </section>`
    : '';

  const body = html`<p><a href="/portal">← Manage Webhooks</a></p>
    <h1>Webhook details</h1>
    ${noticeLine(p.notice)}
    <div class="columns">
      ${config}
      <div>${secret}${recover}</div>
    </div>
    ${log}`;
  return layout('Webhook details', body, frame);
}
