-- Portal sessions opened with an API token: the session remembers which token, so each
-- request takes that token's roles and a revoked or expired token ends the session.
-- NULL for sessions opened with the admin password.

ALTER TABLE portal_sessions
    ADD COLUMN token_id uuid REFERENCES api_tokens (id) ON DELETE CASCADE;
CREATE INDEX portal_sessions_token ON portal_sessions (token_id) WHERE token_id IS NOT NULL;
