// Reads a URL host as an IP address in every spelling a URL parser or libc resolver accepts
// (decimal, hex, octal, short forms, trailing dot, bracketed IPv6); null means "a name".
import ipaddr from 'ipaddr.js';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

export function parseIpLiteral(host: string): IpAddress | null {
  if (host.startsWith('[') && host.endsWith(']')) return parseIPv6(host.slice(1, -1));
  if (host.includes(':')) return parseIPv6(host);
  return parseIPv4(host);
}

/** The one spelling we connect to and log: dotted quad, or RFC 5952 IPv6 (ipaddr.js's toString). */
export function canonicalIp(ip: IpAddress): string {
  return ip.toString();
}

function parseIPv6(text: string): ipaddr.IPv6 | null {
  return ipaddr.IPv6.isValid(text) ? ipaddr.IPv6.parse(text) : null;
}

// The WHATWG URL IPv4 parser, which is also what inet_aton() accepts: one to four parts,
// each decimal, 0x-hex or 0-octal; the last part fills the remaining bytes ("127.1").
function parseIPv4(host: string): ipaddr.IPv4 | null {
  const parts = host.split('.');
  if (parts.length > 1 && parts.at(-1) === '') parts.pop();
  if (parts.length > 4) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    const n = parseIPv4Part(part);
    if (n === null) return null;
    numbers.push(n);
  }
  const last = numbers.pop()!;
  if (numbers.some((n) => n > 255) || last >= 256 ** (4 - numbers.length)) return null;
  const value = numbers.reduce((sum, n, i) => sum + n * 256 ** (3 - i), last);
  return new ipaddr.IPv4([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);
}

function parseIPv4Part(part: string): number | null {
  if (part === '') return null;
  let radix = 10;
  let digits = part;
  // Stryker disable next-line Regex: equivalent, an "0x" past the start leaves an "x" in the digits
  if (/^0x/i.test(part)) {
    radix = 16;
    digits = part.slice(2);
  } else if (part.length > 1 && part.startsWith('0')) {
    radix = 8;
    // Stryker disable next-line MethodExpression: equivalent, a leading 0 adds nothing to an octal number
    digits = part.slice(1);
  }
  if (digits === '') return 0; // WHATWG reads a bare "0x" as zero
  const valid = radix === 16 ? /^[0-9a-f]+$/i : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!valid.test(digits)) return null;
  const n = parseInt(digits, radix);
  return Number.isSafeInteger(n) ? n : null;
}
