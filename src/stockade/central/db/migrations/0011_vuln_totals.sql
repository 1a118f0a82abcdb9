-- Vulnerability totals kept up to date at write time, so that CVE lists and the dashboard do
-- not group a million findings per request.
--
-- A finding's contribution is rolled up per (image, CVE) over its OBSERVED findings: the
-- highest severity, the highest CVSS, fixable when any finding is. cve_image_buckets counts,
-- per CVE and rolled-up (severity, cvss, fixable), the images in that bucket; every image
-- is in exactly one bucket per CVE, so sums over buckets are exact image counts.
-- images.observed_sev_counts / fixable_sev_counts count an image's CVEs by rolled-up
-- severity rank (1-based array index = rank + 1: UNKNOWN, LOW, MODERATE, IMPORTANT, CRITICAL).

CREATE FUNCTION stockade_severity_rank(severity text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE severity WHEN 'CRITICAL' THEN 4 WHEN 'IMPORTANT' THEN 3 WHEN 'MODERATE' THEN 2
                         WHEN 'LOW' THEN 1 ELSE 0 END
$$;

CREATE TABLE cve_image_buckets (
    cve_id    text NOT NULL REFERENCES cves(id) ON DELETE CASCADE,
    severity  text NOT NULL,
    cvss      real NOT NULL,
    fixable   boolean NOT NULL,
    images    integer NOT NULL,
    PRIMARY KEY (cve_id, severity, cvss, fixable)
);

ALTER TABLE images
    ADD COLUMN observed_sev_counts integer[] NOT NULL DEFAULT '{0,0,0,0,0}',
    ADD COLUMN fixable_sev_counts  integer[] NOT NULL DEFAULT '{0,0,0,0,0}';

-- existing data: the same roll-up the application maintains from here on
CREATE TEMP TABLE rollup ON COMMIT DROP AS
SELECT f.image_id, f.cve_id, max(stockade_severity_rank(f.severity)) AS rank,
       max(f.cvss) AS cvss, bool_or(f.fixable) AS fixable
FROM image_cves f WHERE f.state = 'OBSERVED'
GROUP BY f.image_id, f.cve_id;

INSERT INTO cve_image_buckets (cve_id, severity, cvss, fixable, images)
SELECT cve_id, (ARRAY['UNKNOWN','LOW','MODERATE','IMPORTANT','CRITICAL'])[rank + 1], cvss,
       fixable, count(*)
FROM rollup GROUP BY 1, 2, 3, 4;

UPDATE images i SET observed_sev_counts = a.obs, fixable_sev_counts = a.fix
FROM (
    SELECT image_id,
           ARRAY[count(*) FILTER (WHERE rank = 0), count(*) FILTER (WHERE rank = 1),
                 count(*) FILTER (WHERE rank = 2), count(*) FILTER (WHERE rank = 3),
                 count(*) FILTER (WHERE rank = 4)] AS obs,
           ARRAY[count(*) FILTER (WHERE rank = 0 AND fixable),
                 count(*) FILTER (WHERE rank = 1 AND fixable),
                 count(*) FILTER (WHERE rank = 2 AND fixable),
                 count(*) FILTER (WHERE rank = 3 AND fixable),
                 count(*) FILTER (WHERE rank = 4 AND fixable)] AS fix
    FROM rollup GROUP BY image_id
) a
WHERE a.image_id = i.id;
