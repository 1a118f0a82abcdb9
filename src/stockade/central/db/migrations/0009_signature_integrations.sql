-- Signature integrations: cosign public keys that vouch for images. Public keys are not
-- secrets, so they are stored as given (PEM text) in one JSON list per integration.
CREATE TABLE signature_integrations (
    id           uuid PRIMARY KEY,      -- the API shows io.stackrox.signatureintegration.<id>
    name         text NOT NULL UNIQUE,
    public_keys  jsonb NOT NULL,        -- [{"name": ..., "publicKeyPemEnc": ...}]
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Per image: which digests were checked and, per signature integration, the outcome
-- ({"verifiedAt", "digests", "results": [{"verifierId", "status", "description", ...}]}).
-- Kept apart from the scan columns, so a re-match of vulnerability data leaves it alone.
ALTER TABLE images ADD COLUMN signature_verification jsonb;
