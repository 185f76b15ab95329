import { PermanentError, type ProductSpec, parseProductSpec, type Redactor } from '@mvp-pipeline/core';
import type pg from 'pg';
import { connectionSecrets, databaseRedactor, toDatabaseError } from './errors.js';
import { withClient } from './pool.js';
import { APP_MODEL_KEY } from './spec-source.js';

export interface LoadSpecsOptions {
  pool: pg.Pool;
  /** Specs to store; each is validated before anything is written. */
  specs: readonly unknown[];
  signal?: AbortSignal;
  /** The application's redactor; the pool's own secrets are added to it. */
  redact?: Redactor;
}

const UPSERT_USER = `INSERT INTO users
  (id, email, name, company_name, business_type, industry, target_market, brand_colors, brand_fonts)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb)
ON CONFLICT (id) DO UPDATE SET
  email = EXCLUDED.email, name = EXCLUDED.name, company_name = EXCLUDED.company_name,
  business_type = EXCLUDED.business_type, industry = EXCLUDED.industry,
  target_market = EXCLUDED.target_market, brand_colors = EXCLUDED.brand_colors,
  brand_fonts = EXCLUDED.brand_fonts, updated_at = now()`;

// A product id that belongs to someone else is left alone: seeding never moves ownership.
const UPSERT_PRODUCT = `INSERT INTO products (id, user_id, name, tagline, description)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET
  name = EXCLUDED.name, tagline = EXCLUDED.tagline, description = EXCLUDED.description, updated_at = now()
WHERE products.user_id = EXCLUDED.user_id
RETURNING id`;

const UPSERT_SPECIFICATION = `INSERT INTO mvp_specifications
  (product_id, specifications, target_audience, key_features, technical_requirements,
   design_preferences, customizations)
VALUES ($1, $2::jsonb, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7::jsonb)
ON CONFLICT (product_id) DO UPDATE SET
  specifications = EXCLUDED.specifications, target_audience = EXCLUDED.target_audience,
  key_features = EXCLUDED.key_features, technical_requirements = EXCLUDED.technical_requirements,
  design_preferences = EXCLUDED.design_preferences, customizations = EXCLUDED.customizations,
  updated_at = now()`;

/**
 * Stores product specs as FounderDash would: upserts each user, product and MVP specification
 * (a spec without `specifications` removes the product's specification row), all in one
 * transaction. Every spec is validated first (ValidationError naming the spec and field; nothing
 * is written). A product id owned by another user is a PermanentError, never a takeover.
 */
export async function loadSpecs(options: LoadSpecsOptions): Promise<{ loaded: ProductSpec[] }> {
  const specs = options.specs.map((input, i) => {
    const id = (input as { product?: { id?: unknown } } | null)?.product?.id;
    return parseProductSpec(input, `spec ${i + 1}${typeof id === 'string' ? ` (product ${id})` : ''}`);
  });
  const redact = databaseRedactor(connectionSecrets(options.pool.options.connectionString), options.redact);
  try {
    await withClient(options.pool, options.signal, async (client) => {
      await client.query('BEGIN');
      try {
        for (const spec of specs) await upsert(client, spec);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  } catch (error) {
    throw toDatabaseError(error, 'Loading the specs into the FounderDash database', redact);
  }
  return { loaded: specs };
}

async function upsert(client: pg.PoolClient, spec: ProductSpec): Promise<void> {
  const { user, product, specifications: s } = spec;
  await client.query(UPSERT_USER, [
    user.id,
    user.email,
    user.name ?? null,
    user.companyName ?? null,
    user.businessType ?? null,
    user.industry ?? null,
    user.targetMarket ?? null,
    json(user.branding?.colors),
    json(user.branding?.fonts),
  ]);
  const { rowCount } = await client.query(UPSERT_PRODUCT, [
    product.id,
    user.id,
    product.name,
    product.tagline ?? null,
    product.description ?? null,
  ]);
  if (rowCount === 0) {
    throw new PermanentError(`Product ${product.id} belongs to another user; it was not overwritten`);
  }
  if (!s) {
    await client.query('DELETE FROM mvp_specifications WHERE product_id = $1', [product.id]);
    return;
  }
  await client.query(UPSERT_SPECIFICATION, [
    product.id,
    json(s.mvpSpecs),
    s.targetAudience ?? null,
    json(s.keyFeatures),
    json(s.technicalRequirements),
    json(s.designPreferences),
    json(s.app === undefined ? s.customizations : { ...s.customizations, [APP_MODEL_KEY]: s.app }),
  ]);
}

/** pg would send a JS array as a PostgreSQL array; JSONB columns take JSON text. */
function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}
