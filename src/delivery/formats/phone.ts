// Splits an E.164 number into country calling code and national number (OTPLESS sends them apart).

// ITU-T E.164 calling codes are prefix-free: these are all the 1- and 2-digit ones, every
// other code has 3 digits, so the split needs no full country table.
const ONE_DIGIT = new Set(['1', '7']);
const TWO_DIGIT = new Set(
  '20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98'.split(
    ' ',
  ),
);

export interface SplitPhone {
  /** "+91"; absent when the input is not E.164 digits. */
  countryCode?: string;
  /** National significant number, or the input unchanged when it cannot be split. */
  phoneNumber: string;
}

export function splitPhone(raw: string): SplitPhone {
  const digits = raw.startsWith('+') ? raw.slice(1) : raw;
  if (!/^[1-9]\d{6,14}$/.test(digits)) return { phoneNumber: raw };
  const len = ONE_DIGIT.has(digits.charAt(0)) ? 1 : TWO_DIGIT.has(digits.slice(0, 2)) ? 2 : 3;
  return { countryCode: `+${digits.slice(0, len)}`, phoneNumber: digits.slice(len) };
}
