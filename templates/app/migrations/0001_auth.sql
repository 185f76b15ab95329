-- Accounts, sessions, sign-in attempts and the owner's one-time claim (hand-written, protected).
CREATE TABLE IF NOT EXISTS auth_users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
  password_hash text NOT NULL,
  role text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS auth_users_email_key ON auth_users (lower(email));
-- At most one owner (admin) account.
CREATE UNIQUE INDEX IF NOT EXISTS auth_users_one_admin ON auth_users (role) WHERE role = 'admin';

CREATE TABLE IF NOT EXISTS auth_sessions (
  id text PRIMARY KEY, -- sha256 of the cookie's token: a database leak yields no usable session
  user_id uuid NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS auth_sessions_user ON auth_sessions (user_id);

CREATE TABLE IF NOT EXISTS auth_sign_in_attempts (
  id bigserial PRIMARY KEY,
  key text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS auth_sign_in_attempts_key_at ON auth_sign_in_attempts (key, at);

CREATE TABLE IF NOT EXISTS auth_owner_claims (
  id text PRIMARY KEY, -- sha256 of the link's token
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  used_by uuid REFERENCES auth_users (id) ON DELETE SET NULL
);
