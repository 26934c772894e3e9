// How seed 003's panel names a subscription's settings: Product (channel), Report Type (DLR: the
// delivery-status events; MO: replies), Server Method (POST form, GET query, JSON, XML), Product
// Unique ID (the WABA number, i.e. the sender). The form turns the same words back into fields.
import type { SubscriptionView } from '../present.js';

export const PRODUCTS = [
  ['sms', 'SMS'],
  ['whatsapp', 'WhatsApp'],
  ['viber', 'Viber'],
  ['telegram', 'Telegram'],
  ['rcs', 'RCS'],
] as const;

/** DLR: the events that report a message's delivery status. */
export const DLR_EVENTS = ['message.sent', 'message.delivered', 'message.read', 'message.failed'];
/** MO: what a user sends back (not offered for SMS). */
export const MO_EVENTS = ['message.reply'];

export const SEND_METHODS = {
  POST: { method: 'POST', encoding: 'form', label: 'POST (form fields)' },
  GET: { method: 'GET', encoding: 'json', label: 'GET (query string)' },
  JSON: { method: 'POST', encoding: 'json', label: 'JSON (POST body)' },
  XML: { method: 'POST', encoding: 'xml', label: 'XML (POST body)' },
} as const;
export type SendMethod = keyof typeof SEND_METHODS;

/** Required Parameters of seed 003: field, label, WhatsApp only. */
export const REQUIRED_PARAMS = [
  ['transactionId', 'Transaction ID Parameter', false],
  ['messageId', 'Message ID Parameter', false],
  ['errorCode', 'Error Code Parameter', false],
  ['mobile', 'Mobile Number Parameter', false],
  ['receivedTime', 'Received Time Parameter', false],
  ['deliveredTime', 'Delivered Time Parameter', false],
  ['readTime', 'Read Time Parameter', true],
  ['status', 'Status Parameter', true],
] as const;

type View = Pick<SubscriptionView, 'channels' | 'events' | 'method' | 'encoding' | 'senders'>;

export function productLabel(sub: View): string {
  const channels = sub.channels ?? [];
  if (channels.length === 0) return 'All products';
  return channels.map((c) => PRODUCTS.find(([v]) => v === c)?.[1] ?? c).join(', ');
}

export function reportType(sub: View): 'DLR' | 'MO' | 'Custom' {
  const ev = sub.events;
  if (ev.length > 0 && ev.every((e) => DLR_EVENTS.includes(e))) return 'DLR';
  if (ev.length === MO_EVENTS.length && ev.every((e) => MO_EVENTS.includes(e))) return 'MO';
  return 'Custom';
}

export function sendMethod(sub: View): SendMethod {
  if (sub.method === 'GET') return 'GET';
  if (sub.encoding === 'form') return 'POST';
  if (sub.encoding === 'xml') return 'XML';
  return 'JSON';
}

export const productUniqueId = (sub: View): string => (sub.senders ?? []).join(', ');
