// Payload → well-formed XML 1.0: one root element, arrays as repeated elements, names
// sanitised, text escaped. Hand-written because XMLBuilder passes invalid names, `#text`/`@_`
// keys and XML-illegal control characters through, which would need a full pre-pass anyway.
import { XML_NAME_CHAR, XML_NAME_START } from '../../domain/xml-name.js';

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

const NOT_NAME_CHAR = new RegExp(`[^${XML_NAME_CHAR}]`, 'gu');
const NAME_START_CHAR = new RegExp(`^[${XML_NAME_START}]`, 'u');
const PLAIN_NAME = /^[A-Za-z_][\w.-]*$/;

// Markup characters become entities; \r becomes &#13; so it survives line-end normalisation;
// characters XML 1.0 cannot carry (C0 controls, U+FFFE/FFFF, lone surrogates) become U+FFFD.
const ESCAPED = /[&<>"'\r]|[^\t\n\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#13;',
};

/** A valid element name for any key: invalid characters become "_", a bad first one gets a "_" prefix. */
export function xmlName(key: string): string {
  if (PLAIN_NAME.test(key)) return key;
  const name = key.replace(NOT_NAME_CHAR, '_');
  return NAME_START_CHAR.test(name) ? name : `_${name}`;
}

export const escapeXmlText = (text: string): string => text.replace(ESCAPED, (c) => ENTITIES[c] ?? '\uFFFD');

export function toXml(payload: Record<string, unknown>, root = 'webhook'): string {
  const out: string[] = [DECLARATION];
  element(root, payload, out);
  return out.join('');
}

function element(name: string, value: unknown, out: string[]): void {
  if (value === undefined) return;
  if (Array.isArray(value)) {
    // Repeated elements; an array inside an array is wrapped so its items stay grouped.
    for (const item of value) element(name, Array.isArray(item) ? { item } : item, out);
    return;
  }
  const tag = xmlName(name);
  if (value === null) {
    out.push(`<${tag}/>`);
  } else if (typeof value === 'object') {
    out.push(`<${tag}>`);
    for (const key of Object.keys(value)) element(key, (value as Record<string, unknown>)[key], out);
    out.push(`</${tag}>`);
  } else {
    out.push(`<${tag}>${escapeXmlText(String(value))}</${tag}>`);
  }
}
