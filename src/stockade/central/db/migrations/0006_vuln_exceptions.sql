-- Vulnerability exceptions: a requester asks to defer or mark false positive some CVEs,
-- globally or for one image; an approver decides. Approved, unexpired exceptions set the
-- state of the matching findings, which checks and reports leave out.

CREATE TABLE vuln_exceptions (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    target_state  text NOT NULL,            -- DEFERRED, FALSE_POSITIVE
    status        text NOT NULL,            -- PENDING, APPROVED, DENIED, CANCELED
    cves          text[] NOT NULL,
    registry      text NOT NULL,            -- '.*' means any
    remote        text NOT NULL,
    tag           text NOT NULL,
    expiry_type   text NOT NULL DEFAULT '', -- TIME, ALL_CVE_FIXABLE, ANY_CVE_FIXABLE, or '' (never)
    expires_at    timestamptz,
    requester     text NOT NULL,
    approver      text NOT NULL DEFAULT '',
    comments      jsonb NOT NULL DEFAULT '[]',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vuln_exceptions_status ON vuln_exceptions (status);

ALTER TABLE image_cves ADD COLUMN state text NOT NULL DEFAULT 'OBSERVED';
CREATE INDEX image_cves_state ON image_cves (state);
