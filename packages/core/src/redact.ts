/** Token shapes that are secrets wherever they appear, even when nobody registered them. */
const SECRET_PATTERNS: readonly RegExp[] = [
  /sk-ant-[A-Za-z0-9_-]{8,}/g,
  /gh[pousr]_[A-Za-z0-9]{20,}/g,
  /github_pat_[A-Za-z0-9_]{20,}/g,
  /AKIA[0-9A-Z]{16}/g,
  // user:password@ in connection strings and URLs
  /(?<=[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s/]+(?=@)/gi,
  /(?<=\b(?:authorization|x-api-key)["']?\s*[:=]\s*["']?(?:Bearer |Basic |token )?)[A-Za-z0-9._~+/=-]{8,}/gi,
];

export const REDACTED = '[REDACTED]';

/** Replaces secrets in text: the registered values and anything shaped like a known token. */
export type Redactor = (text: string) => string;

/**
 * The one redaction helper. Every logger, error path, notification and record write goes
 * through it. Values shorter than 6 characters are not registered (they would mangle text).
 */
export function createRedactor(secrets: Iterable<string | undefined> = []): Redactor {
  const values = [
    ...new Set([...secrets].filter((s): s is string => typeof s === 'string' && s.length >= 6)),
  ].sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = text;
    for (const value of values) out = out.split(value).join(REDACTED);
    for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, REDACTED);
    return out;
  };
}

/** Redacts every string inside a JSON-like value. */
export function redactValue<T>(value: T, redact: Redactor): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, redact)) as T;
  if (value && typeof value === 'object') {
    if (value instanceof Error) return redactValue({ name: value.name, message: value.message }, redact) as T;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, redact)])) as T;
  }
  return value;
}

/**
 * A redactor that also learns secrets made while the runner runs (a generated database
 * password, a provisioned connection URL): `add` them as soon as they exist, and every later
 * `redact` call removes them too. Adapters that create secrets take `registerSecret: add`.
 */
export interface SecretRegistry {
  readonly redact: Redactor;
  add(value: string | undefined): void;
}

export function createSecretRegistry(initial: Iterable<string | undefined> = []): SecretRegistry {
  const values = new Set<string | undefined>(initial);
  let current = createRedactor(values);
  return {
    redact: (text) => current(text),
    add(value) {
      if (typeof value !== 'string' || values.has(value)) return;
      values.add(value);
      current = createRedactor(values);
    },
  };
}
