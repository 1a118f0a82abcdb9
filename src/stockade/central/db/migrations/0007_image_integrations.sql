-- Registries Central pulls images from, with credentials sealed by Central's data key.
CREATE TABLE image_integrations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    type        text NOT NULL,          -- docker, quay, ghcr, gcr, artifactregistry, ecr, acr
    endpoint    text NOT NULL,          -- registry host[:port]
    username    text NOT NULL DEFAULT '',
    password    bytea,                  -- sealed; never returned by the API
    insecure    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
