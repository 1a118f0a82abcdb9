-- Central core: secrets, access control, tokens, audit, and the cluster inventory that
-- access scopes filter on (Sensor fills clusters/namespaces/deployments in a later version).

CREATE TABLE central_secrets (
    name        text PRIMARY KEY,
    nonce       bytea NOT NULL,
    ciphertext  bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE permission_sets (
    id                  text PRIMARY KEY,
    name                text NOT NULL UNIQUE,
    description         text NOT NULL DEFAULT '',
    resource_to_access  jsonb NOT NULL,
    builtin             boolean NOT NULL DEFAULT false
);

CREATE TABLE access_scopes (
    id           text PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    description  text NOT NULL DEFAULT '',
    rules        jsonb,            -- NULL: unrestricted
    builtin      boolean NOT NULL DEFAULT false
);

CREATE TABLE roles (
    name               text PRIMARY KEY,
    description        text NOT NULL DEFAULT '',
    permission_set_id  text NOT NULL REFERENCES permission_sets(id),
    access_scope_id    text NOT NULL REFERENCES access_scopes(id),
    builtin            boolean NOT NULL DEFAULT false
);

CREATE TABLE api_tokens (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    roles       text[] NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,   -- SHA-256 of the token; the token itself is never stored
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked     boolean NOT NULL DEFAULT false,
    revoked_at  timestamptz
);

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    principal   text NOT NULL,
    auth_method text NOT NULL,
    method      text NOT NULL,
    path        text NOT NULL,
    status      integer NOT NULL,
    source      text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at DESC);

CREATE TABLE clusters (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    type        text NOT NULL DEFAULT 'KUBERNETES_CLUSTER',
    labels      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE namespaces (
    id          uuid PRIMARY KEY,
    cluster_id  uuid NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    name        text NOT NULL,
    labels      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (cluster_id, name)
);

CREATE TABLE deployments (
    id          uuid PRIMARY KEY,
    cluster_id  uuid NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    namespace   text NOT NULL,
    name        text NOT NULL,
    type        text NOT NULL DEFAULT 'Deployment',
    labels      jsonb NOT NULL DEFAULT '{}',
    replicas    integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (cluster_id, namespace, name, type)
);
CREATE INDEX deployments_scope ON deployments (cluster_id, namespace);
