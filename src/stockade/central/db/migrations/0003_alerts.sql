-- Alerts: one ACTIVE alert per (policy, deployment) updated in place; RESOLVED when the
-- violation is gone; ATTEMPTED for each admission denial. Build-stage alerts name an image.

CREATE TABLE alerts (
    id               uuid PRIMARY KEY,
    policy_id        text NOT NULL,
    policy           jsonb NOT NULL,          -- the policy as it was when the alert fired
    policy_name      text NOT NULL,
    severity         text NOT NULL,
    categories       text[] NOT NULL,
    lifecycle_stage  text NOT NULL,           -- BUILD, DEPLOY, RUNTIME
    state            text NOT NULL,           -- ACTIVE, RESOLVED, ATTEMPTED
    cluster_id       uuid,
    cluster_name     text NOT NULL DEFAULT '',
    namespace        text NOT NULL DEFAULT '',
    deployment_id    uuid,
    deployment_name  text NOT NULL DEFAULT '',
    image_name       text NOT NULL DEFAULT '',
    violations       jsonb NOT NULL,          -- [{"message": ..., "time": ...}]
    enforcement      jsonb,                   -- {"action": ..., "message": ...}
    enforcement_count integer NOT NULL DEFAULT 0,
    first_occurred   timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    resolved_at      timestamptz
);

-- the invariant: at most one active alert per policy and deployment (or image, at build)
CREATE UNIQUE INDEX alerts_one_active_per_deployment
    ON alerts (policy_id, deployment_id) WHERE state = 'ACTIVE' AND deployment_id IS NOT NULL;
CREATE UNIQUE INDEX alerts_one_active_per_image
    ON alerts (policy_id, image_name)
    WHERE state = 'ACTIVE' AND deployment_id IS NULL AND lifecycle_stage = 'BUILD';
CREATE INDEX alerts_scope ON alerts (cluster_id, namespace);
CREATE INDEX alerts_state_time ON alerts (state, updated_at DESC);
