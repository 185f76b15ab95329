/** A short, stable, non-cryptographic digest (FNV-1a, 32 bit, hex) for names and idempotency keys. */
export function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (const char of text) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/** A digest of a JSON value that does not depend on key order. */
export function stableHash(value: unknown): string {
  return shortHash(stableStringify(value));
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The one way a user-supplied name becomes a slug (repo names, project names, paths):
 * lowercase ASCII letters, digits and single dashes, at most `max` characters. A name with
 * nothing to keep (only punctuation, or a non-Latin script) becomes `app-<hash>`, so the
 * slug is never empty and stays stable for the same name.
 */
export function slugify(name: string, max = 40): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/g, '');
  return slug || `app-${shortHash(name)}`;
}

/**
 * The site name of a job's deployment: the product's slug and a short hash of the job id
 * (`eventhub-1a2b3c`). Unique per job, so two founders whose products share a name get two
 * sites, and stable across retries and resumes of the same job, so a retry finds its own site.
 */
export function siteNameFor(productName: string, jobId: string): string {
  return `${slugify(productName, 40)}-${shortHash(jobId).slice(0, 6)}`;
}
