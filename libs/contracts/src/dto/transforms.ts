import { Transform } from 'class-transformer';

/**
 * Accepts a string of decimal digits as the integer it spells ("12" → 12, "0042" → 42); any other
 * value is passed through untouched so that the validators reject it with a clear message. Any
 * number of digits: one beyond the safe integers spells a number at least 2^53, which each field's
 * `@Max` refuses as too large (it was 15 digits at most, which refused valid 16-digit order numbers).
 */
export function DigitsToInt(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^\d+$/.test(value) ? digitsValue(value) : value));
}

/** The number the digits spell; past the doubles' range (over 308 digits), the largest double, as large for every `@Max`. */
function digitsValue(digits: string): number {
  const n = Number(digits);
  return Number.isFinite(n) ? n : Number.MAX_VALUE;
}
