// Manage Webhooks (seed 003): the table of a tenant's webhooks with Edit, Delete, View Details.
import type { SubscriptionView } from '../../present.js';
import { html } from '../html.js';
import { productLabel, productUniqueId, reportType, sendMethod } from '../labels.js';
import { csrfField, layout, noticeLine, statusBadge, type Frame } from './layout.js';

export interface ListPage {
  data: SubscriptionView[];
  nextCursor: string | null;
  /** The cursor of this page (absent on the first). */
  cursor?: string;
  notice?: string;
  can: { create: boolean; update: boolean; delete: boolean };
}

export function listView(page: ListPage, frame: Frame) {
  const rows = page.data.map(
    (s) =>
      html`<tr>
        <td data-label="ID"><code>${s.id}</code></td>
        <td data-label="Product">${productLabel(s)}</td>
        <td data-label="Webhook" class="url">${s.webhookUrl}</td>
        <td data-label="Report Type">${reportType(s)}</td>
        <td data-label="Server Method">${sendMethod(s)}</td>
        <td data-label="Product Unique ID">${productUniqueId(s) || '—'}</td>
        <td data-label="Status">${statusBadge(s.status)}</td>
        <td data-label="Action" class="actions">
          <span>
            ${page.can.update ? html`<a href="/portal/webhooks/${s.id}/edit" aria-label="Edit ${s.id}">Edit</a>` : ''}
            ${
              page.can.delete
                ? html`<a href="/portal/webhooks/${s.id}/delete" aria-label="Delete ${s.id}">Delete</a>`
                : ''
            }
            <a href="/portal/webhooks/${s.id}" aria-label="View Details of ${s.id}">View Details</a>
          </span>
        </td>
      </tr>`,
  );
  const body = html`<div class="title-row">
      <h1>Manage Webhooks</h1>
      ${page.can.create ? html`<a class="button primary" href="/portal/webhooks/new">Add Webhook</a>` : ''}
    </div>
    ${noticeLine(page.notice)}
    <div class="card table-card">
      <table class="webhooks">
        <caption class="sr-only">
          Your webhooks for DLR and MO
        </caption>
        <thead>
          <tr>
            <th scope="col">ID</th>
            <th scope="col">Product</th>
            <th scope="col">Webhook</th>
            <th scope="col">Report Type</th>
            <th scope="col">Server Method</th>
            <th scope="col">Product Unique ID</th>
            <th scope="col">Status</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          ${
            rows.length
              ? rows
              : html`<tr class="empty">
                  <td colspan="8">
                    No webhooks yet. Add one to receive delivery reports (DLR) and replies (MO).
                  </td>
                </tr>`
          }
        </tbody>
      </table>
    </div>
    <nav class="pager" aria-label="Pages">
      ${page.cursor ? html`<a href="/portal">First page</a>` : ''}
      ${page.nextCursor ? html`<a href="/portal?cursor=${encodeURIComponent(page.nextCursor)}">Next page</a>` : ''}
    </nav>`;
  return layout('Manage Webhooks', body, { ...frame, current: 'list' });
}

/** Delete asks first (soft delete: the platform keeps the record). */
export function confirmDeleteView(sub: SubscriptionView, frame: Frame) {
  return layout(
    'Delete webhook',
    html`<section class="card narrow">
      <h1>Delete webhook?</h1>
      <p>
        <code>${sub.id}</code> sends ${reportType(sub)} reports for ${productLabel(sub)} to
        <span class="url">${sub.webhookUrl}</span>. After deleting it nothing more is sent there and its
        queued deliveries are cancelled.
      </p>
      <form method="post" action="/portal/webhooks/${sub.id}/delete" class="row">
        ${csrfField(frame)}
        <button type="submit" class="danger">Delete webhook</button>
        <a class="button" href="/portal">Cancel</a>
      </form>
    </section>`,
    frame,
  );
}
