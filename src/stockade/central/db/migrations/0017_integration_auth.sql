-- Cloud registry auth: per-type settings (ECR region, registry id, use of the instance's
-- IAM role) and an ECR session token, sealed like the password.
ALTER TABLE image_integrations ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE image_integrations ADD COLUMN session_token bytea;
