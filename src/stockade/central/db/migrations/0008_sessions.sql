-- Portal sessions: a browser's login, kept server-side so logout (or expiry) ends it for good.
-- Only a hash of the session cookie is stored; each session carries its own CSRF token.

CREATE TABLE portal_sessions (
    token_hash  bytea PRIMARY KEY,
    principal   text NOT NULL,
    csrf_token  text NOT NULL,
    source      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX portal_sessions_expires ON portal_sessions (expires_at);
