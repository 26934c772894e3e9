// The subscriber portal in a real browser (Debian's headless Chromium through playwright-core):
// a platform dashboard on another site links to a minted URL; the subscriber adds a WhatsApp DLR
// webhook (GET, renamed parameters, a custom header), tests it against a real receiver, saves
// it, sees a delivery and its attempt, edits and deletes it. Used or expired links and another
// tenant's ids show nothing; a cross-site form post is refused. PORTAL_SCREENSHOTS=1 writes the
// README's screenshots to docs/portal/.
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTitle, haveChromium, launchChromium } from '../helpers/browser.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const SHOTS = process.env.PORTAL_SCREENSHOTS
  ? path.resolve(import.meta.dirname, '../../docs/portal')
  : undefined;
describe.skipIf(!haveChromium)(browserTitle('the subscriber portal in a browser'), () => {
  let h: Harness;
  let rx: Receiver;
  let browser: Browser;
  let base: string;
  let port: number;
  let dashboard: Server;
  let dashPort: number;
  /** What the dashboard serves at each path (set by each test). */
  const pages = new Map<string, string>();
  const tenant = `t_portal_${Date.now()}`;

  beforeAll(async () => {
    h = await startHarness();
    rx = await startReceiver(() => ({
      status: 200,
      headers: { 'x-receiver': 'acme' },
      body: 'thanks from acme',
    }));
    base = await h.hookline.app!.listen({ port: 0, host: '127.0.0.1' });
    port = Number(new URL(base).port);
    dashboard = createServer((req, res) => {
      const body = pages.get(req.url ?? '/');
      res.writeHead(body ? 200 : 404, { 'content-type': 'text/html' }).end(body ?? 'no such page');
    });
    await new Promise<void>((r) => dashboard.listen(0, '127.0.0.1', r));
    dashPort = (dashboard.address() as AddressInfo).port;
    // A platform dashboard on another site (dashboard.test), still on loopback.
    browser = await launchChromium(['--host-resolver-rules=MAP dashboard.test 127.0.0.1']);
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => dashboard?.close(r));
    await h?.close();
    await rx?.close();
  });

  async function newPage(viewport = { width: 1280, height: 900 }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    // Hermetic: nothing may leave the machine.
    await context.route(
      (url) => url.hostname !== '127.0.0.1' && url.hostname !== 'dashboard.test',
      (route) => route.abort(),
    );
    const page = await context.newPage();
    // Fail where it fails, well inside the test's own timeout.
    page.setDefaultTimeout(15_000);
    return page;
  }

  async function mintFor(tenantId: string, ttlSeconds = 600): Promise<string> {
    const res = await h.request<{ url: string }>({
      method: 'POST',
      url: '/v1/portal/sessions',
      body: { tenantId, ttlSeconds },
      headers: { host: `127.0.0.1:${port}` },
    });
    expect(res.status, res.raw).toBe(201);
    return res.body.url;
  }

  /** Opens a link the way a subscriber does: a click on the platform's dashboard (another site). */
  async function openFromDashboard(page: Page, url: string) {
    pages.set(
      '/',
      `<!doctype html><title>Dashboard</title><a id="go" href="${url}">Manage your webhooks</a>`,
    );
    await page.goto(`http://dashboard.test:${dashPort}/`);
    await page.click('#go');
  }

  /** A new page signed in as `tenant` through a freshly minted link, on Manage Webhooks. */
  async function signedInPage(viewport?: { width: number; height: number }): Promise<Page> {
    const page = await newPage(viewport);
    await openFromDashboard(page, await mintFor(tenant));
    await page.waitForURL(`${base}/portal`);
    return page;
  }

  const shot = async (page: Page, name: string) => {
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  };

  it('walks through add, test, save, deliveries, edit and delete', async () => {
    const page = await signedInPage();
    await page.getByRole('heading', { name: 'Manage Webhooks' }).waitFor();
    await page.getByText('No webhooks yet').waitFor();

    // Add Webhook: WhatsApp DLR over GET, renamed parameters, a custom header.
    // By keyboard: the skip link first, then the navigation; Enter follows a link.
    const focused = () => page.locator(':focus').textContent();
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect((await focused())?.trim()).toBe('Add Webhook');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Add Webhook' }).waitFor();
    // Every control has a label tied to it (a string: the tests compile without the DOM types).
    const unlabelled = await page.evaluate<string[]>(
      `[...document.querySelectorAll('input:not([type=hidden]), select')]
        .filter((e) => e.labels.length === 0).map((e) => e.outerHTML)`,
    );
    expect(unlabelled).toEqual([]);
    await page.getByLabel('Product', { exact: true }).selectOption('whatsapp');
    await page.getByLabel('Webhook Server Send Method').selectOption('GET');
    await page.getByLabel('Webhook Report Type').selectOption('DLR');
    await page.getByLabel('Waba Number').fill('15550001111');
    // OAuth 2.0 shows its own fields; left empty, each says so beside itself.
    await page.getByLabel('Authentication', { exact: true }).selectOption('oauth2');
    await page.getByLabel('Token URL').waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#oauth2-token-url-error').getByText('is required').waitFor();
    await page.locator('#oauth2-client-secret-error').getByText('is required').waitFor();
    await page.getByLabel('Authentication', { exact: true }).selectOption('none');
    expect(await page.getByLabel('Token URL').isVisible()).toBe(false);
    // A bad URL: the API's error shows beside the field, in words.
    await page.getByLabel('Webhook (URL Endpoint)').fill('ftp://acme.test/dlr');
    await page.getByRole('button', { name: 'Save' }).click();
    const urlError = page.locator('#webhook-url-error');
    await urlError.waitFor();
    expect(await urlError.textContent()).toMatch(/http/);
    await expect(page.getByLabel('Webhook (URL Endpoint)').getAttribute('aria-invalid')).resolves.toBe(
      'true',
    );

    await page.getByLabel('Webhook (URL Endpoint)').fill(`${rx.url}/dlr`);
    await page.getByLabel('Message ID Parameter').fill('msgid');
    await page.getByLabel('Mobile Number Parameter').fill('msisdn');
    await page.getByLabel('Status Parameter').fill('dlr_status');
    await page.getByLabel('Add Custom Headers').check();
    await page.getByLabel('Header name', { exact: true }).fill('X-Api-Key');
    await page.getByLabel('Header value', { exact: true }).fill('acme-key-0123456789');

    await page.getByRole('button', { name: 'Test Webhook' }).click();
    await page.getByRole('heading', { name: 'Webhook Test Response' }).waitFor();
    await page.getByText('Status 200').waitFor();
    await page.locator('.test-response-body').getByText('thanks from acme').waitFor();
    await page.getByText('x-receiver: acme').waitFor();
    const [tested] = await rx.waitFor(1);
    expect(tested!.method).toBe('GET');
    expect(tested!.query.get('dlr_status')).toBe('delivered');
    expect(tested!.query.get('msisdn')).toBeTruthy();
    expect(tested!.headers['x-api-key']).toBe('acme-key-0123456789');
    // The request shown to the browser masks the header value.
    expect(await page.locator('#test-response').textContent()).not.toContain('acme-key-0123456789');
    await shot(page, 'add-webhook-desktop');

    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(`${base}/portal?done=created`);
    const row = page.locator('table.webhooks tbody tr').first();
    await row.getByText(`${rx.url}/dlr`).waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(1, 7).map((c) => c.trim())).toEqual([
      'WhatsApp',
      `${rx.url}/dlr`,
      'DLR',
      'GET',
      '15550001111',
      'active',
    ]);
    const id = cells[0]!.trim();
    await shot(page, 'manage-webhooks-desktop');

    // An event for this WABA number is delivered; View Details shows it and its attempt.
    const evt = await h.request<{ id: string }>({
      method: 'POST',
      url: '/v1/events',
      body: {
        tenantId: tenant,
        type: 'message.delivered',
        channel: 'whatsapp',
        sender: '15550001111',
        recipient: '15557654321',
        messageId: 'wamid.portal1',
      },
    });
    expect(evt.status).toBe(202);
    await rx.waitFor(2);
    await h.until(async () => {
      const res = await h.request<{ data: { status: string }[] }>({
        method: 'GET',
        url: `/v1/subscriptions/${id}/deliveries?tenantId=${tenant}`,
      });
      return res.body.data?.[0]?.status === 'succeeded';
    });
    await row.getByRole('link', { name: `View Details of ${id}` }).click();
    await page.getByRole('heading', { name: 'Webhook details' }).waitFor();
    await page.getByText('acme****').first().waitFor(); // the custom header, masked
    await page.getByRole('button', { name: 'Reveal' }).click();
    await page
      .locator('#signing-secret')
      .getByText(/^whsec_/)
      .waitFor();
    await page.locator('table.deliveries').getByText('succeeded').waitFor();
    await page.getByLabel('Status', { exact: true }).selectOption('failed');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No deliveries with status failed').waitFor();
    await page.getByLabel('Status', { exact: true }).selectOption('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await shot(page, 'view-details-desktop');
    await page.locator('table.deliveries a').first().click();
    await page.getByRole('heading', { name: /^Attempt 1: 200/ }).waitFor();
    await page.getByText('thanks from acme').first().waitFor();
    expect(await page.content()).not.toContain('acme-key-0123456789');
    await shot(page, 'delivery-desktop');
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByText('Delivery queued again.').waitFor();
    await rx.waitFor(3);

    // Edit: rename a parameter; the masked header value sent back keeps the stored one.
    await page.goto(`${base}/portal`);
    await page.getByRole('link', { name: `Edit ${id}` }).click();
    await page.getByRole('heading', { name: 'Edit Webhook' }).waitFor();
    expect(await page.getByLabel('Message ID Parameter').inputValue()).toBe('msgid');
    await page.getByLabel('Mobile Number Parameter').fill('phone');
    await page.getByRole('button', { name: 'Save Changes' }).click();
    await page.waitForURL(`${base}/portal/webhooks/${id}?done=saved`);
    const stored = await h.hookline.ctx.subscriptionStore.get(id);
    expect(stored?.fieldNames).toEqual({ messageId: 'msgid', mobile: 'phone', status: 'dlr_status' });
    expect(stored?.customHeaders).toEqual({ 'X-Api-Key': 'acme-key-0123456789' });
    expect(stored?.senders).toEqual(['15550001111']);

    // Phone width: the table turns into cards, the form into one column.
    const phone = await signedInPage({ width: 390, height: 844 });
    await phone.getByText(`${rx.url}/dlr`).waitFor();
    await shot(phone, 'manage-webhooks-phone');
    await phone.goto(`${base}/portal/webhooks/new`);
    await phone.getByLabel('Product', { exact: true }).selectOption('whatsapp');
    await shot(phone, 'add-webhook-phone');
    await phone.context().close();

    // Delete, after a confirmation; then it is gone.
    await page.goto(`${base}/portal`);
    await page.getByRole('link', { name: `Delete ${id}` }).click();
    await page.getByRole('heading', { name: 'Delete webhook?' }).waitFor();
    await page.getByRole('button', { name: 'Delete webhook' }).click();
    await page.waitForURL(`${base}/portal?done=deleted`);
    await page.getByText('No webhooks yet').waitFor();
    const gone = await h.request({ method: 'GET', url: `/v1/subscriptions/${id}?tenantId=${tenant}` });
    expect(gone.status).toBe(404);
    await page.context().close();
  }, 90_000);

  it(
    'shows nothing for a used or expired link, or another tenant’s webhook',
    { timeout: 60_000 },
    async () => {
      const other = await h.request<{ id: string }>({
        method: 'POST',
        url: `/v1/subscriptions?tenantId=${tenant}_other`,
        body: { webhookUrl: `${rx.url}/secret-place`, events: ['message.delivered'] },
      });
      const page = await newPage();
      const url = await mintFor(tenant);
      await openFromDashboard(page, url);
      await page.waitForURL(`${base}/portal`);
      await page.goto(`${base}/portal/webhooks/${other.body.id}`);
      await page.getByRole('heading', { name: 'Link expired or not found' }).waitFor();
      expect(await page.content()).not.toContain('secret-place');
      await page.context().close();

      const again = await newPage();
      await openFromDashboard(again, url); // used already
      await again.getByRole('heading', { name: 'Link expired or not found' }).waitFor();
      await again.goto(`${base}/portal`);
      await again.getByRole('heading', { name: 'Link expired or not found' }).waitFor();
      await shot(again, 'link-expired-desktop');

      const expired = await mintFor(tenant, 60);
      const code = new URL(expired).searchParams.get('code')!;
      // Let Redis expire the code now, as it would after ttlSeconds.
      const { createHash } = await import('node:crypto');
      const key = `${h.config.REDIS_PREFIX}:portal:code:${createHash('sha256').update(code).digest('base64url')}`;
      expect(await h.hookline.ctx.redis.pexpire(key, 1)).toBe(1);
      await h.until(async () => (await h.hookline.ctx.redis.exists(key)) === 0);
      await openFromDashboard(again, expired);
      await again.getByRole('heading', { name: 'Link expired or not found' }).waitFor();
      expect(await again.content()).not.toContain(tenant);
      await again.context().close();
    },
  );

  it('an edit changes what the form shows only: SMS drops the WABA number, the rest stays', async () => {
    const create = async (path: string, extra: Record<string, unknown> = {}) => {
      const res = await h.request<{ id: string }>({
        method: 'POST',
        url: `/v1/subscriptions?tenantId=${tenant}`,
        body: {
          webhookUrl: `${rx.url}/${path}`,
          events: ['message.delivered'],
          channels: ['whatsapp'],
          senders: ['15550001111', '15550002222'],
          format: 'params',
          ...extra,
        },
      });
      expect(res.status, res.raw).toBe(201);
      return res.body.id;
    };
    const toSms = await create('wa-to-sms');
    const kept = await create('wa-kept');
    const page = await signedInPage();
    const save = async (id: string) => {
      await page.getByRole('button', { name: 'Save Changes' }).click();
      await page.waitForURL(`${base}/portal/webhooks/${id}?done=saved`);
      return h.hookline.ctx.subscriptionStore.get(id);
    };

    await page.goto(`${base}/portal/webhooks/${toSms}/edit`);
    await page.getByLabel('Product', { exact: true }).selectOption('sms');
    const sms = await save(toSms);
    expect(sms?.channels).toEqual(['sms']);
    expect(sms?.senders ?? []).toEqual([]);

    await page.goto(`${base}/portal/webhooks/${kept}/edit`);
    await page.getByLabel('Description (optional)').fill('renamed');
    const wa = await save(kept);
    expect(wa?.description).toBe('renamed');
    expect(wa?.senders).toEqual(['15550001111', '15550002222']);
    // A DLR webhook of only some delivery statuses is not widened to all four by a save.
    expect(wa?.events).toEqual(['message.delivered']);

    // An SMS webhook keeps a WhatsApp-only parameter name the API gave it (the form hides it).
    const sms2 = await create('sms-names', {
      channels: ['sms'],
      senders: [],
      fieldNames: { messageId: 'mid', status: 'st' },
    });
    await page.goto(`${base}/portal/webhooks/${sms2}/edit`);
    expect(await page.getByLabel('Status Parameter').isVisible()).toBe(false);
    await page.getByLabel('Message ID Parameter').fill('msg');
    expect((await save(sms2))?.fieldNames).toEqual({ messageId: 'msg', status: 'st' });

    // By keyboard: removing a custom parameter row leaves focus on its Add More.
    await page.goto(`${base}/portal/webhooks/${kept}/edit`);
    await page.getByLabel('Add Custom Parameters').check();
    await page.locator('#params-rows .add-more').focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Shift+Tab'); // back from the new row's name to the previous Remove
    await page.keyboard.press('Enter');
    expect(await page.locator('#params-rows [data-pair]').count()).toBe(1);
    expect(await page.evaluate<string>('document.activeElement.className')).toBe('add-more');
    await page.context().close();
  });

  it('refuses a cross-site form post (another origin of the same site)', { timeout: 60_000 }, async () => {
    const sub = await h.request<{ id: string }>({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${tenant}`,
      body: { webhookUrl: `${rx.url}/csrf`, events: ['message.delivered'] },
    });
    const page = await signedInPage();
    // A page on another port of 127.0.0.1: same site, so the Strict cookie goes along.
    pages.set(
      '/attack',
      `<!doctype html><form id="f" method="post" action="${base}/portal/webhooks/${sub.body.id}/pause">` +
        `<input name="_csrf" value="guess"></form><script>document.getElementById('f').submit()</script>`,
    );
    await page.goto(`http://127.0.0.1:${dashPort}/attack`);
    await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
    const after = await h.request<{ status: string }>({
      method: 'GET',
      url: `/v1/subscriptions/${sub.body.id}?tenantId=${tenant}`,
    });
    expect(after.body.status).toBe('active');
    // The same button in the portal itself works.
    await page.goto(`${base}/portal/webhooks/${sub.body.id}`);
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByText('Webhook paused').waitFor();
    await page.context().close();
  });
});
