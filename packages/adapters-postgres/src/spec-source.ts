import {
  type FieldIssue,
  type Logger,
  NotFoundError,
  PermanentError,
  PipelineError,
  type ProductSpec,
  parseProductSpec,
  type Redactor,
  type SpecSource,
  ValidationError,
} from '@mvp-pipeline/core';
import type pg from 'pg';
import { connectionSecrets, databaseRedactor, toDatabaseError } from './errors.js';
import { createPool, DEFAULT_STATEMENT_TIMEOUT_MS, withClient } from './pool.js';

/** Settings of the PostgreSQL SpecSource. Give a connection string, or a pool you own. */
export type PgSpecSourceSettings = (
  | { connectionString: string; pool?: undefined }
  | { pool: pg.Pool; connectionString?: undefined }
) & {
  /** Give up opening a connection after this long (own pool only). Default 10 s. */
  connectTimeoutMs?: number;
  /** The server cancels the spec query after this long (set per transaction). Default 15 s. */
  statementTimeoutMs?: number;
  /** Connections the source may open (own pool only). Default 4. */
  maxConnections?: number;
  /** The CA the server's certificate chains to, PEM (own pool only; FOUNDERDASH_DB_CA). */
  ca?: string;
};

export interface PgSpecSourceDeps {
  /** Receives the pool's background errors (an idle connection dropped), redacted. */
  logger?: Logger;
  /** The application's redactor; the connection's own secrets are added to it. */
  redact?: Redactor;
}

/** A SpecSource over FounderDash's database, with a way to let go of its connections. */
export interface PgSpecSource extends SpecSource {
  /** Ends the pool if the source created it (a pool passed in stays open). Idempotent. */
  close(): Promise<void>;
}

/**
 * The one query: the product, its owner and its specification for (userId, productId). The
 * owner is part of the join, so another user's product is simply not there.
 */
export const SPEC_QUERY = `SELECT
  u.id AS user_id, u.email, u.name AS user_name, u.company_name, u.business_type, u.industry,
  u.target_market, u.brand_colors, u.brand_fonts,
  p.id AS product_id, p.name AS product_name, p.tagline, p.description,
  s.product_id IS NOT NULL AS has_specification, s.specifications, s.target_audience,
  s.key_features, s.technical_requirements, s.design_preferences, s.customizations
FROM products p
JOIN users u ON u.id = p.user_id
LEFT JOIN mvp_specifications s ON s.product_id = p.id
WHERE p.user_id = $1 AND p.id = $2`;

/** A row of SPEC_QUERY as pg returns it (JSONB already parsed). */
export interface SpecRow {
  user_id: string;
  email: string | null;
  user_name: string | null;
  company_name: string | null;
  business_type: string | null;
  industry: string | null;
  target_market: string | null;
  brand_colors: unknown;
  brand_fonts: unknown;
  product_id: string;
  product_name: string | null;
  tagline: string | null;
  description: string | null;
  has_specification: boolean;
  specifications: unknown;
  target_audience: string | null;
  key_features: unknown;
  technical_requirements: unknown;
  design_preferences: unknown;
  customizations: unknown;
}

/**
 * FounderDash keeps an explicit app model (`specifications.app`) under this key of the
 * `mvp_specifications.customizations` JSON; the rest of that object is `specifications.customizations`.
 */
export const APP_MODEL_KEY = 'app';

/** Where each field of the spec is stored, so a validation message can name the column to fix. */
const COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['user.id', 'users.id'],
  ['user.email', 'users.email'],
  ['user.name', 'users.name'],
  ['user.companyName', 'users.company_name'],
  ['user.businessType', 'users.business_type'],
  ['user.industry', 'users.industry'],
  ['user.targetMarket', 'users.target_market'],
  ['user.branding.colors', 'users.brand_colors'],
  ['user.branding.fonts', 'users.brand_fonts'],
  ['product.id', 'products.id'],
  ['product.name', 'products.name'],
  ['product.tagline', 'products.tagline'],
  ['product.description', 'products.description'],
  ['specifications.targetAudience', 'mvp_specifications.target_audience'],
  ['specifications.keyFeatures', 'mvp_specifications.key_features'],
  ['specifications.technicalRequirements', 'mvp_specifications.technical_requirements'],
  ['specifications.designPreferences', 'mvp_specifications.design_preferences'],
  ['specifications.customizations', 'mvp_specifications.customizations'],
  ['specifications.app', `mvp_specifications.customizations->'${APP_MODEL_KEY}'`],
  ['specifications.mvpSpecs', 'mvp_specifications.specifications'],
];

/**
 * Reads a product spec from FounderDash's PostgreSQL database (users, products,
 * mvp_specifications). Each read is one parameterised query in a READ ONLY transaction with a
 * statement timeout. Errors: NotFoundError (no such product for that user), ValidationError
 * (the stored row is not a valid spec: the message names the product, the field and its
 * column), TransientError (unreachable, overloaded, timed out, serialization failure),
 * PermanentError (anything else, e.g. wrong credentials or a missing schema). No message
 * carries the connection string.
 */
export function createPgSpecSource(
  settings: PgSpecSourceSettings,
  deps: PgSpecSourceDeps = {},
): PgSpecSource {
  const ownsPool = settings.pool === undefined;
  const pool =
    settings.pool ??
    createPool({
      connectionString: settings.connectionString,
      ...(settings.connectTimeoutMs !== undefined ? { connectTimeoutMs: settings.connectTimeoutMs } : {}),
      ...(settings.statementTimeoutMs !== undefined
        ? { statementTimeoutMs: settings.statementTimeoutMs }
        : {}),
      ...(settings.maxConnections !== undefined ? { maxConnections: settings.maxConnections } : {}),
      ...(settings.ca !== undefined ? { ca: settings.ca } : {}),
    });
  const redact = databaseRedactor(
    [
      ...connectionSecrets(settings.connectionString ?? pool.options.connectionString),
      typeof pool.options.password === 'string' ? pool.options.password : undefined,
    ],
    deps.redact,
  );
  const statementTimeoutMs = Math.max(
    1,
    Math.floor(settings.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS),
  );
  // An idle connection that drops (server restart) is an 'error' on the pool: unhandled, it kills the process.
  const onPoolError = (error: Error) =>
    deps.logger?.warn(`FounderDash database connection dropped: ${redact(error.message)}`);
  pool.on('error', onPoolError);
  let closed: Promise<void> | undefined;

  return {
    specificationVersion: 'v1',

    async getSpec({ userId, productId, signal }) {
      checkId('userId', userId);
      checkId('productId', productId);
      if (closed) throw new PermanentError('The PostgreSQL spec source was closed');
      const doing = `Reading the spec of product ${productId} from the FounderDash database`;
      let rows: SpecRow[];
      try {
        rows = await withClient(pool, signal, async (client) => {
          await client.query(
            `BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = ${statementTimeoutMs}`,
          );
          const result = await client.query<SpecRow>({ text: SPEC_QUERY, values: [userId, productId] });
          await client.query('COMMIT');
          return result.rows;
        });
      } catch (error) {
        if (signal?.aborted && error === signal.reason) throw error;
        throw toDatabaseError(error, doing, redact);
      }
      const row = rows[0];
      if (!row) throw new NotFoundError(`No product ${productId} for user ${userId}`);
      return { spec: rowToSpec(row) };
    },

    close() {
      closed ??= (async () => {
        if (ownsPool) await pool.end();
        pool.removeListener('error', onPoolError);
      })();
      return closed;
    },
  };
}

/**
 * A row as a validated ProductSpec. NULL columns are absent fields; anything the spec schema
 * rejects is a ValidationError naming the product, the field and the column it came from.
 */
export function rowToSpec(row: SpecRow): ProductSpec {
  const colors = present(row.brand_colors);
  const fonts = present(row.brand_fonts);
  const candidate = {
    user: {
      id: row.user_id,
      email: present(row.email),
      name: present(row.user_name),
      companyName: present(row.company_name),
      businessType: present(row.business_type),
      industry: present(row.industry),
      targetMarket: present(row.target_market),
      branding: colors === undefined && fonts === undefined ? undefined : prune({ colors, fonts }),
    },
    product: {
      id: row.product_id,
      name: present(row.product_name),
      tagline: present(row.tagline),
      description: present(row.description),
    },
    specifications: row.has_specification
      ? {
          targetAudience: present(row.target_audience),
          keyFeatures: present(row.key_features),
          technicalRequirements: present(row.technical_requirements),
          designPreferences: present(row.design_preferences),
          ...splitCustomizations(present(row.customizations)),
          mvpSpecs: present(row.specifications),
        }
      : undefined,
  };
  const subject = `spec of product ${row.product_id}`;
  try {
    return parseProductSpec(pruneDeep(candidate), subject);
  } catch (error) {
    if (!PipelineError.isInstance(error) || error.code !== 'VALIDATION') throw error;
    throw new ValidationError(subject, (error as ValidationError).issues.map(withColumn));
  }
}

function withColumn(issue: FieldIssue): FieldIssue {
  const column = COLUMNS.find(
    ([field]) =>
      issue.path === field || issue.path.startsWith(`${field}.`) || issue.path.startsWith(`${field}[`),
  )?.[1];
  return column ? { path: issue.path, message: `${issue.message} (column ${column})` } : issue;
}

/** Separates the app model kept inside `customizations` from the customisations themselves. */
function splitCustomizations(value: unknown): { customizations?: unknown; app?: unknown } {
  if (
    value === null ||
    typeof value !== 'object' ||
    Array.isArray(value) ||
    !Object.hasOwn(value, APP_MODEL_KEY)
  ) {
    return { customizations: value };
  }
  const { [APP_MODEL_KEY]: app, ...customizations } = value as Record<string, unknown>;
  return {
    customizations: Object.keys(customizations).length > 0 ? customizations : undefined,
    app: present(app),
  };
}

/** SQL NULL (and JSON null) is an absent field. */
function present<T>(value: T | null | undefined): T | undefined {
  return value === null ? undefined : value;
}

function prune<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Drops undefined members of the spec's own objects (not of free-form JSON inside it). */
function pruneDeep(candidate: {
  user: Record<string, unknown>;
  product: Record<string, unknown>;
  specifications: Record<string, unknown> | undefined;
}): unknown {
  return prune({
    user: prune(candidate.user),
    product: prune(candidate.product),
    specifications: candidate.specifications && prune(candidate.specifications),
  });
}

/** Ids go to the database as parameters; this only refuses what no id can be. */
function checkId(field: 'userId' | 'productId', value: unknown): void {
  let problem: string | undefined;
  if (typeof value !== 'string' || value.length === 0) problem = 'must be a non-empty string';
  else if (value.length > 256) problem = 'must be at most 256 characters';
  // PostgreSQL text cannot hold NUL, and no id holds control characters.
  else if (/[\u0000-\u001f\u007f]/.test(value)) problem = 'must not contain control characters';
  if (problem) throw new ValidationError('spec request', [{ path: field, message: problem }]);
}
