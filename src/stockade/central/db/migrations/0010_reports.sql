-- Vulnerability reports: collections of deployments, report configurations with a schedule,
-- and report jobs (one run each, with the zipped CSV kept for download or a retried email).

CREATE TABLE collections (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL UNIQUE,
    description         text NOT NULL DEFAULT '',
    resource_selectors  jsonb NOT NULL,   -- the product's resourceSelectors, validated
    embedded_ids        uuid[] NOT NULL DEFAULT '{}',  -- collections whose deployments it adds
    created_by          text NOT NULL,
    updated_by          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE report_configs (
    id             uuid PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    collection_id  uuid NOT NULL REFERENCES collections(id),  -- a used collection stays
    doc            jsonb NOT NULL,         -- the product's report configuration, validated
    next_run_at    timestamptz,            -- NULL: not scheduled
    last_sent_at   timestamptz,            -- data cut of the last delivered scheduled report
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_configs_due ON report_configs (next_run_at) WHERE next_run_at IS NOT NULL;

-- A worker claims a due job with FOR UPDATE SKIP LOCKED and leases it (lease_until), so
-- one replica runs it; an expired lease (a crashed replica) makes it claimable again.
CREATE TABLE report_jobs (
    id               uuid PRIMARY KEY,
    config_id        uuid NOT NULL REFERENCES report_configs(id) ON DELETE CASCADE,
    kind             text NOT NULL,     -- SCHEDULED, ON_DEMAND
    method           text NOT NULL,     -- EMAIL, DOWNLOAD
    state            text NOT NULL DEFAULT 'WAITING',
                     -- WAITING, PREPARING, GENERATED (download ready), DELIVERED, FAILURE
    requester        text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    data_as_of       timestamptz,       -- when the rows were read
    completed_at     timestamptz,
    error            text NOT NULL DEFAULT '',
    attempts         integer NOT NULL DEFAULT 0,     -- delivery attempts
    next_attempt_at  timestamptz,       -- FAILURE that will be retried: when
    lease_until      timestamptz,
    row_count        integer,
    content          bytea,             -- the zip (one CSV), bounded by report_max_bytes
    content_size     integer,
    delivered_to     text[] NOT NULL DEFAULT '{}'  -- email targets that accepted (retries skip them)
);
CREATE INDEX report_jobs_config ON report_jobs (config_id, created_at DESC);
CREATE INDEX report_jobs_due ON report_jobs (state, next_attempt_at);

-- The NVD's CVSS score of a finding where the source gave one (reports can include it).
ALTER TABLE image_cves ADD COLUMN nvd_cvss real;
