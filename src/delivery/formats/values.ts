// Small readers shared by the formats: timestamps and typed views of free-form `event.data`.

/** Epoch milliseconds of a normalised (RFC 3339) occurredAt. */
export const epochMs = (iso: string): number => Date.parse(iso);

/** Epoch seconds as a decimal string, the way the WhatsApp Cloud API writes timestamps. */
export const epochSecondsString = (iso: string): string => String(Math.floor(Date.parse(iso) / 1000));

/** A string (finite numbers are written out) or undefined. */
export function stringOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  return Number.isFinite(v) ? String(v) : undefined;
}

/** A plain object or undefined. */
export function recordOf(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** Upper-cased string (OTPLESS writes statuses and channels in capitals). */
export const upper = (v: unknown): string | undefined => stringOf(v)?.toUpperCase();
