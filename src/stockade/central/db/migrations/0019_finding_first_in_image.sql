-- CVE lists count images per CVE without count(DISTINCT): first_in_image marks one finding
-- row per (image, CVE), the one of the lowest component index. Written by the images store.

ALTER TABLE image_cves ADD COLUMN first_in_image boolean NOT NULL DEFAULT true;

UPDATE image_cves f SET first_in_image = false
FROM (
    SELECT image_id, component_idx, cve_id,
           row_number() OVER (PARTITION BY image_id, cve_id ORDER BY component_idx) AS rn
    FROM image_cves
) d
WHERE d.image_id = f.image_id AND d.component_idx = f.component_idx AND d.cve_id = f.cve_id
  AND d.rn > 1;
