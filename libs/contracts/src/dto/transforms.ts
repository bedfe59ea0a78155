import { Transform } from 'class-transformer';

/**
 * Accepts a string of decimal digits as the integer it spells ("12" → 12); any other value is
 * passed through untouched so that the validators reject it with a clear message.
 */
export function DigitsToInt(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value,
  );
}
