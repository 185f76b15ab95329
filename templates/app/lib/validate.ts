// Field validators used by the generated modules. Each returns the stored value or records a
// message under the field's name in `errors`. Form posts send strings; "" means "not given".
export type Errors = Record<string, string>;

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

function given(value: unknown): boolean {
  return value !== undefined && value !== null && !(typeof value === 'string' && value.trim() === '');
}

interface Common {
  label: string;
  required?: boolean;
}

function missing(name: string, o: Common, errors: Errors): null {
  if (o.required) errors[name] = `${o.label} is required`;
  return null;
}

export function text(
  name: string,
  value: unknown,
  o: Common & { minLength?: number; maxLength?: number; multiline?: boolean },
  errors: Errors,
): string | null {
  if (!given(value)) return missing(name, o, errors);
  if (typeof value !== 'string') {
    errors[name] = `${o.label} must be text`;
    return null;
  }
  let v = value.replace(CONTROL, '').trim();
  v = o.multiline ? v.replace(/\r\n?/g, '\n') : v.replace(/\s+/g, ' ');
  const max = o.maxLength ?? (o.multiline ? 10000 : 500);
  if ([...v].length > max) errors[name] = `${o.label} must be at most ${max} characters`;
  else if (o.minLength !== undefined && [...v].length < o.minLength) {
    errors[name] = `${o.label} must be at least ${o.minLength} characters`;
  }
  return v;
}

export function email(
  name: string,
  value: unknown,
  o: Common & { maxLength?: number },
  errors: Errors,
): string | null {
  const v = text(name, value, { ...o, maxLength: o.maxLength ?? 254 }, errors);
  if (v === null || errors[name]) return v;
  if (!/^[^\s@<>()"']+@[^\s@<>()"']+\.[^\s@<>()"']+$/.test(v))
    errors[name] = `${o.label} must be an email address`;
  return v.toLowerCase();
}

export function number(
  name: string,
  value: unknown,
  o: Common & { min?: number; max?: number; integer?: boolean },
  errors: Errors,
): number | null {
  if (!given(value)) return missing(name, o, errors);
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  if (!Number.isFinite(n)) errors[name] = `${o.label} must be a number`;
  else if (o.integer && !Number.isInteger(n)) errors[name] = `${o.label} must be a whole number`;
  else if (o.min !== undefined && n < o.min) errors[name] = `${o.label} must be at least ${o.min}`;
  else if (o.max !== undefined && n > o.max) errors[name] = `${o.label} must be at most ${o.max}`;
  return n;
}

/** Money as integer cents: "12.50" or 12.5 → 1250. */
export function money(name: string, value: unknown, o: Common, errors: Errors): number | null {
  if (!given(value)) return missing(name, o, errors);
  const s = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  if (!/^\d{1,10}(\.\d{1,2})?$/.test(s)) {
    errors[name] = `${o.label} must be an amount like 12.50`;
    return null;
  }
  const [whole, frac = ''] = s.split('.');
  return Number(whole) * 100 + Number(frac.padEnd(2, '0'));
}

/** An ISO date-time; a form's `datetime-local` value (no zone) is read as UTC. */
export function datetime(name: string, value: unknown, o: Common, errors: Errors): string | null {
  if (!given(value)) return missing(name, o, errors);
  const s = typeof value === 'string' ? value.trim() : '';
  const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s) ? `${s}Z` : s;
  const t = Date.parse(withZone);
  if (!/^\d{4}-\d{2}-\d{2}/.test(s) || Number.isNaN(t)) {
    errors[name] = `${o.label} must be a date and time`;
    return null;
  }
  return new Date(t).toISOString();
}

/** A checkbox ("on"), true/false, or "true"/"false"; absent means `fallback`. */
export function boolean(value: unknown, fallback: boolean): boolean {
  if (value === true || value === 'on' || value === 'true' || value === '1') return true;
  if (value === false || value === 'false' || value === '0' || value === 'off') return false;
  return fallback;
}

export function oneOf<T extends string>(
  name: string,
  value: unknown,
  values: readonly T[],
  o: Common,
  errors: Errors,
): T | null {
  if (!given(value)) return missing(name, o, errors);
  if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
    errors[name] = `${o.label} must be one of: ${values.join(', ')}`;
    return null;
  }
  return value as T;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

export function reference(name: string, value: unknown, o: Common, errors: Errors): string | null {
  if (!given(value)) return missing(name, o, errors);
  if (!isUuid(value)) {
    errors[name] = `${o.label} must be chosen from the list`;
    return null;
  }
  return value.toLowerCase();
}

/** One CSV cell: quoted, and a leading = + - @ neutralised so a spreadsheet runs no formula. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = value instanceof Date ? value.toISOString() : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) || s.startsWith("'") ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatMoney(cents: number | null): string {
  return cents === null ? '' : (cents / 100).toLocaleString('en-US', { style: 'currency', currency: 'USD' });
}

export function formatDateTime(value: string | Date | null): string {
  if (value === null) return '';
  const d = new Date(value);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The value a `datetime-local` input shows for a stored time (UTC). */
export function toDateTimeInput(value: string | Date | null): string {
  return value === null ? '' : new Date(value).toISOString().slice(0, 16);
}
