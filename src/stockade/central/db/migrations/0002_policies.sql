-- Policies in the product's JSON format, with the columns search and listing need.

CREATE TABLE policies (
    id                text PRIMARY KEY,
    name              text NOT NULL UNIQUE,
    doc               jsonb NOT NULL,      -- the policy as the product's JSON (lossless)
    disabled          boolean NOT NULL,
    severity          text NOT NULL,
    categories        text[] NOT NULL,
    lifecycle_stages  text[] NOT NULL,
    enforced          boolean NOT NULL,
    is_default        boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Default policies added once each: one a user deleted stays deleted, one a later version
-- adds appears at the next start.
CREATE TABLE seeded_default_policies (
    policy_id  text PRIMARY KEY,
    seeded_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE policy_categories (
    id          text PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    is_default  boolean NOT NULL DEFAULT false
);
