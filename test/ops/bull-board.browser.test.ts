// A real browser (Debian's headless Chromium through playwright-core) logs in to Bull Board with
// basic auth and sees both queues and a permanently failed delivery.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTitle, haveChromium, launchChromium } from '../helpers/browser.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

describe.skipIf(!haveChromium)(browserTitle('Bull Board in a browser'), () => {
  let h: Harness;
  let rx: Receiver;
  let browser: Browser;
  let base: string;
  const tenant = `t_board_${Date.now()}`;

  beforeAll(async () => {
    h = await startHarness();
    rx = await startReceiver(() => ({ status: 500, body: 'receiver is broken' }));
    base = await h.hookline.app!.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await rx?.close();
  });

  async function newPage(credentials?: { username: string; password: string }) {
    const context = await browser.newContext(credentials ? { httpCredentials: credentials } : {});
    // Hermetic: the board links a web font; nothing may leave the machine.
    await context.route(
      (url) => url.hostname !== '127.0.0.1',
      (route) => route.abort(),
    );
    return context.newPage();
  }

  it('refuses a browser without credentials or with a wrong password', async () => {
    const anonymous = await newPage();
    // Without credentials headless Chromium cancels the Basic challenge.
    await expect(anonymous.goto(`${base}/admin/queues`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    await anonymous.context().close();

    const wrong = await newPage({ username: 'oncall', password: 'not-the-admin-token' });
    const res = await wrong.goto(`${base}/admin/queues`);
    expect(res?.status()).toBe(401);
    expect(await res?.json()).toMatchObject({ code: 'unauthorized' });
    await wrong.context().close();
  });

  it('logs in with the admin token and shows both queues and a failed delivery', async () => {
    const sub = await h.request<{ id: string }>({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${tenant}`,
      body: { webhookUrl: `${rx.url}/hook`, events: ['message.failed'], maxRetries: 0 },
    });
    expect(sub.status, sub.raw).toBe(201);
    const evt = await h.request<{ id: string }>({
      method: 'POST',
      url: '/v1/events',
      body: {
        tenantId: tenant,
        type: 'message.failed',
        channel: 'sms',
        messageId: 'm_board',
        error: { code: '131048' },
      },
    });
    expect(evt.status, evt.raw).toBe(202);
    await rx.waitFor(1);
    const deliveryId = await h.until(async () => {
      const res = await h.request<{ deliveries: { id: string; status: string }[] }>({
        method: 'GET',
        url: `/v1/events/${evt.body.id}?tenantId=${tenant}`,
      });
      const d = res.body.deliveries?.[0];
      return d && (await h.hookline.ctx.deliveriesQueue.getJobState(d.id)) === 'failed' ? d.id : undefined;
    });

    const page = await newPage({ username: 'oncall', password: h.config.ADMIN_TOKEN });
    const res = await page.goto(`${base}/admin/queues`, { waitUntil: 'domcontentloaded' });
    expect(res?.status()).toBe(200);
    await expect(page.title()).resolves.toBe('Hookline');
    await page.getByText('hookline-events', { exact: true }).first().waitFor();
    await page.getByText('hookline-deliveries', { exact: true }).first().waitFor();

    await page.goto(`${base}/admin/queues/queue/hookline-deliveries?status=failed`, {
      waitUntil: 'domcontentloaded',
    });
    await page.getByText(deliveryId).first().waitFor();
    await page
      .getByText(/http_error/)
      .first()
      .waitFor();
    await page.context().close();
  });
});
