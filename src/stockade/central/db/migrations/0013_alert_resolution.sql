-- Why a user resolved an alert: '' for a plain resolve, EXCLUDED when the deployment (or, at
-- build time, the image) was added to the policy's exclusions at the same time.
ALTER TABLE alerts ADD COLUMN resolution text NOT NULL DEFAULT '';
