-- Scanned images, their components and CVE findings, and which deployments use them.
-- image_cves is the wide table vulnerability management queries: one row per
-- (image, component, CVE) with what filters need (severity, CVSS, fixability).

CREATE TABLE images (
    id                 text PRIMARY KEY,   -- manifest digest; 'name:<full name>' if unknown
    name               text NOT NULL,      -- full name as last scanned
    registry           text NOT NULL DEFAULT '',
    remote             text NOT NULL DEFAULT '',
    tag                text NOT NULL DEFAULT '',
    os                 text NOT NULL DEFAULT '',
    created            timestamptz,
    metadata           jsonb NOT NULL DEFAULT '{}',
    scan_state         text NOT NULL DEFAULT 'SCANNED',   -- SCANNED, FAILED
    scan_error         text NOT NULL DEFAULT '',
    scan_notes         text[] NOT NULL DEFAULT '{}',
    scanned_at         timestamptz,
    first_seen         timestamptz NOT NULL DEFAULT now(),
    last_updated       timestamptz NOT NULL DEFAULT now(),
    components_count   integer NOT NULL DEFAULT 0,
    cves_count         integer NOT NULL DEFAULT 0,
    fixable_cves_count integer NOT NULL DEFAULT 0,
    top_cvss           real NOT NULL DEFAULT 0
);
CREATE INDEX images_name ON images (name);

CREATE TABLE image_names (
    name        text PRIMARY KEY,
    image_id    text NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cves (
    id                 text PRIMARY KEY,
    severity           text NOT NULL DEFAULT 'UNKNOWN',
    cvss               real NOT NULL DEFAULT 0,
    epss               real,
    kev                boolean NOT NULL DEFAULT false,
    published          timestamptz,
    first_seen_system  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE image_components (
    image_id     text NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx          integer NOT NULL,
    name         text NOT NULL,
    version      text NOT NULL DEFAULT '',
    source       text NOT NULL DEFAULT '',
    location     text NOT NULL DEFAULT '',
    layer_index  integer,
    PRIMARY KEY (image_id, idx)
);
CREATE INDEX image_components_name ON image_components (name, version);

CREATE TABLE image_cves (
    image_id          text NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    component_idx     integer NOT NULL,
    cve_id            text NOT NULL REFERENCES cves(id),
    severity          text NOT NULL,
    cvss              real NOT NULL DEFAULT 0,
    fixed_by          text NOT NULL DEFAULT '',
    fixable           boolean NOT NULL,
    first_seen_image  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (image_id, component_idx, cve_id)
);
CREATE INDEX image_cves_cve ON image_cves (cve_id);
CREATE INDEX image_cves_severity ON image_cves (severity, fixable);

CREATE TABLE deployment_images (
    deployment_id  uuid NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    container      text NOT NULL,
    image_name     text NOT NULL,
    image_id       text,               -- set once the image is known to Central
    PRIMARY KEY (deployment_id, container)
);
CREATE INDEX deployment_images_image ON deployment_images (image_id);
