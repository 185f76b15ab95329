-- FounderDash's data as the pipeline reads it: a founder (users), their products, and the MVP
-- specification of each product. JSON values are JSONB, as FounderDash stores them.
-- Ids are text: FounderDash ids look like `user_12345` / `product_67890`.

CREATE TABLE users (
  id            text PRIMARY KEY,
  name          text,
  email         text NOT NULL,
  company_name  text,
  business_type text,
  industry      text,
  target_market text,
  -- ["#4F46E5", "#F59E0B"]
  brand_colors  jsonb,
  -- ["Inter"]
  brand_fonts   jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
  id          text PRIMARY KEY,
  -- The owner: a spec is read only for the (user_id, id) pair.
  user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name        text NOT NULL,
  tagline     text,
  description text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX products_user_id_idx ON products (user_id);

CREATE TABLE mvp_specifications (
  product_id             text PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
  -- The free-form MVP brief: a JSON string or a JSON object.
  specifications         jsonb,
  target_audience        text,
  -- ["Event page with RSVP", "Waitlist when full"]
  key_features           jsonb,
  technical_requirements jsonb,
  design_preferences     jsonb,
  customizations         jsonb,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);
