import { UsageError } from './usage-error.js';

/** `text` as a whole number from `min` to `max`, or undefined when it is not one. */
export function parseWholeNumber(text: string, min: number, max: number): number | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

/** A whole-number command-line option (`--concurrency N`): `fallback` when absent, a UsageError when out of range. */
export function wholeNumberOption(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const n = parseWholeNumber(text, min, max);
  if (n === undefined)
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return n;
}
